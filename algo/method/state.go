package method

import (
	"crypto/sha256"
	"encoding/binary"
	"math"

	"github.com/byzpp/byzpp/algo/vec"
)

// State is the agreed state at the start of round Round: x^k and g^k. X0 is the initial point, kept
// because attacks such as Shift-Back aim at it and because it is part of what a joining peer must trust.
type State struct {
	Round uint64
	X     []float64 // x^k
	G     []float64 // g^k
}

// NewState returns the state before round 0: x^0 and g^0 = 0.
func NewState(x0 []float64) *State {
	return &State{X: vec.Clone(x0), G: make([]float64, len(x0))}
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	return &State{Round: s.Round, X: vec.Clone(s.X), G: vec.Clone(s.G)}
}

// NextPoint returns x^{k+1} = x^k − γ g^k.
func (s *State) NextPoint(lr float64) []float64 {
	x1 := vec.Clone(s.X)
	vec.Axpy(-lr, s.G, x1)
	return x1
}

// NextPointInto is NextPoint written into dst (reused when large enough; it must not overlap s.X or
// s.G).
func (s *State) NextPointInto(dst []float64, lr float64) []float64 {
	x1 := append(dst[:0], s.X...)
	vec.Axpy(-lr, s.G, x1)
	return x1
}

// Digest is the SHA-256 of a canonical encoding of the state: the round and the IEEE-754 bits of x and g.
// Honest peers compare digests to check that they derived bit-identical states.
func (s *State) Digest() [32]byte {
	h := sha256.New()
	var buf [8]byte
	h.Write([]byte("byzpp/state/v1"))
	binary.LittleEndian.PutUint64(buf[:], s.Round)
	h.Write(buf[:])
	binary.LittleEndian.PutUint64(buf[:], uint64(len(s.X)))
	h.Write(buf[:])
	writeFloats(h, s.X)
	writeFloats(h, s.G)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func writeFloats(h interface{ Write([]byte) (int, error) }, v []float64) {
	chunk := make([]byte, 0, 8*256)
	for i, x := range v {
		chunk = binary.LittleEndian.AppendUint64(chunk, math.Float64bits(x))
		if len(chunk) == cap(chunk) || i == len(v)-1 {
			h.Write(chunk)
			chunk = chunk[:0]
		}
	}
}
