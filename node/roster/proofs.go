package roster

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/byzpp/byzpp/p2p/wire"
)

// EncodeProofs is the persisted form of a member history (Chain.Proofs): each change proof framed
// with its length. node keeps it in a checked file of its StateDir.
func EncodeProofs(proofs []wire.ChangeProof) ([]byte, error) {
	var b bytes.Buffer
	for j := range proofs {
		raw, err := wire.Marshal(&proofs[j])
		if err != nil {
			return nil, err
		}
		b.Write(binary.AppendUvarint(nil, uint64(len(raw))))
		b.Write(raw)
	}
	return b.Bytes(), nil
}

// DecodeProofs reads what EncodeProofs wrote: at most wire.MaxChanges proofs, each within
// wire.DefaultLimits; a framing error wraps wire.ErrMalformed. The proofs are decoded, not checked:
// Chain.Extend checks them against the genesis.
func DecodeProofs(b []byte) ([]wire.ChangeProof, error) {
	var out []wire.ChangeProof
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) || len(out) >= wire.MaxChanges {
			return nil, fmt.Errorf("%w: membership history framing", wire.ErrMalformed)
		}
		var p wire.ChangeProof
		if err := wire.Unmarshal(b[k:k+int(n)], &p, wire.DefaultLimits()); err != nil {
			return nil, err
		}
		out = append(out, p)
		b = b[k+int(n):]
	}
	return out, nil
}
