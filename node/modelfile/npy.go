package modelfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
)

// The weights are a NumPy .npy file, version 1.0 (numpy.org/neps/nep-0001-npy-format.html): the
// magic "\x93NUMPY", the version bytes 1 0, a little-endian uint16 header length, an ASCII Python
// dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (d,), } padded with spaces and
// ended by '\n' so that the data starts at a multiple of 64 bytes, then d little-endian float64s.
// numpy.load opens it in one line, and the format is small enough to write here by hand rather
// than take a dependency for it.

const npyMagic = "\x93NUMPY"

// npyAlign is where the data starts: numpy itself pads headers to 64 bytes (16 before numpy 1.14;
// readers accept either).
const npyAlign = 64

// ErrNpy is wrapped by every reason a .npy file is refused.
var ErrNpy = errors.New("modelfile: not a 1-D little-endian float64 .npy file")

// EncodeNpy returns x as a version-1.0 .npy file of dtype '<f8' and shape (len(x),).
func EncodeNpy(x []float64) []byte {
	dict := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }", len(x))
	pre := len(npyMagic) + 2 + 2
	pad := (npyAlign - (pre+len(dict)+1)%npyAlign) % npyAlign
	hlen := len(dict) + pad + 1
	out := make([]byte, 0, pre+hlen+8*len(x))
	out = append(out, npyMagic...)
	out = append(out, 1, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(hlen))
	out = append(out, dict...)
	for range pad {
		out = append(out, ' ')
	}
	out = append(out, '\n')
	for _, v := range x {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
	}
	return out
}

var (
	npyDescr   = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	npyFortran = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape':\s*\(\s*(\d+)\s*,?\s*\)`)
)

// DecodeNpy reads a .npy file of version 1.0 or 2.0 holding a 1-D array of little-endian float64s
// (dtype '<f8', C order) — what EncodeNpy and numpy.save(path, x.astype('<f8')) write.
func DecodeNpy(b []byte) ([]float64, error) {
	if len(b) < 10 || string(b[:6]) != npyMagic {
		return nil, fmt.Errorf("%w: no .npy magic", ErrNpy)
	}
	var hlen, pre int
	switch b[6] {
	case 1:
		hlen, pre = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, fmt.Errorf("%w: truncated header", ErrNpy)
		}
		h := binary.LittleEndian.Uint32(b[8:12])
		if uint64(h) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: header of %d bytes in a file of %d", ErrNpy, h, len(b))
		}
		hlen, pre = int(h), 12
	default:
		return nil, fmt.Errorf("%w: version %d.%d", ErrNpy, b[6], b[7])
	}
	if pre+hlen > len(b) {
		return nil, fmt.Errorf("%w: header of %d bytes in a file of %d", ErrNpy, hlen, len(b))
	}
	header := string(b[pre : pre+hlen])
	d, f, s := npyDescr.FindStringSubmatch(header), npyFortran.FindStringSubmatch(header), npyShape.FindStringSubmatch(header)
	switch {
	case d == nil || f == nil || s == nil:
		return nil, fmt.Errorf("%w: header %q", ErrNpy, header)
	case d[1] != "<f8":
		return nil, fmt.Errorf("%w: dtype %q", ErrNpy, d[1])
	case f[1] != "False":
		return nil, fmt.Errorf("%w: Fortran order", ErrNpy)
	}
	n, err := strconv.Atoi(s[1])
	if err != nil {
		return nil, fmt.Errorf("%w: shape %q", ErrNpy, s[1])
	}
	data := b[pre+hlen:]
	if n < 0 || len(data) != 8*n {
		return nil, fmt.Errorf("%w: shape (%d,) but %d data bytes", ErrNpy, n, len(data))
	}
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return x, nil
}
