package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckedFileRoundTripAndCorruption(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ConsensusFile)
	if err := WriteChecked(path, []byte(`{"height":7}`)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadChecked(path)
	if err != nil || len(got) == 0 {
		t.Fatalf("readChecked: %v", err)
	}
	if missing, err := ReadChecked(filepath.Join(dir, "absent")); missing != nil || err != nil {
		t.Fatalf("absent file: %v, %v", missing, err)
	}
	raw, _ := os.ReadFile(path)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"flipped payload byte", append(append([]byte{}, raw[:len(raw)-1]...), raw[len(raw)-1]^1)},
		{"truncated", raw[:len(fileMagic)+10]},
		{"no magic", append([]byte("x"), raw[1:]...)},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadChecked(path); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
