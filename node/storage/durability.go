package storage

import (
	"bytes"
	"os"
	"strings"
	"time"
)

// When the journal is durable. A peer must never contradict a vote it sent, so what it signed is in
// the journal before the message leaves. There are two kinds of crash to survive:
//
//   - the peer's process dies (killed, panics, the volunteer closes the laptop lid on a hung run): a
//     record whose write(2) returned is in the kernel's page cache and reads back after the restart
//     whether or not it was ever fsynced;
//   - the machine dies (power, kernel panic): only what was fsynced survives.
//
// Syncing before every send covers both, and measured on a 20-peer loopback testnet it is a quarter
// of a round's time (one fdatasync before each vote, on the round's critical path, ~130 µs on this
// disk before contention). So where the kernel says which boot it is running (Linux:
// /proc/sys/kernel/random/boot_id), the journal is written before sending and synced in the
// background instead (every groupSyncEvery, and at a clean close), and each opening of the journal
// records the boot it happened in. A restart within the same boot finds every record it wrote. A
// restart in a later boot whose last record is not a clean close may have lost records written since
// the last sync — among them votes it sent — so it treats itself as having forgotten them: it sits
// out the heights it may have voted at (the node's amnesia, node/amnesia.go), exactly as after a
// damaged journal. The cost of a machine crash is thus a few heights of one member's silence, not
// safety. Where the boot cannot be told (other systems, an unreadable boot_id), the journal is synced
// before every send as before.

// groupSyncEvery is how often the loop makes the journal durable when it does not sync before sends.
const groupSyncEvery = time.Second

// bootIDPath is where Linux exposes a random identifier chosen afresh at every boot.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

// readBootID returns the identifier of the running boot of this machine, or "" if it cannot be told.
func readBootID() string {
	b, err := os.ReadFile(bootIDPath)
	if err != nil {
		return ""
	}
	id := strings.TrimSpace(string(b))
	if id == "" || len(id) > 64 {
		return ""
	}
	return id
}

// A boot record says which boot last opened the journal, or that the journal was then closed cleanly.
const (
	bootOpened = "opened "
	bootClosed = "closed "
)

func bootRecord(state, boot string) []byte { return []byte(state + boot) }

// mayHaveLostRecords reports whether a journal whose latest boot record is rec, read in boot `now`
// ("" when unknown), may be missing records that its writer sent messages after: it was opened in
// another boot (or one we cannot compare with) and never closed cleanly. A journal without boot
// records was synced before every send (earlier versions, or systems without a boot id).
func mayHaveLostRecords(rec []byte, now string) bool {
	switch {
	case rec == nil, bytes.HasPrefix(rec, []byte(bootClosed)):
		return false
	case bytes.HasPrefix(rec, []byte(bootOpened)):
		return now == "" || string(rec[len(bootOpened):]) != now
	default:
		return true // not a record this version writes: assume the worst
	}
}
