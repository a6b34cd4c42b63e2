package compress

// IsIdentity reports whether q is the identity compressor ("none"), whose Compress(v, r) is
// Dense(clone of v) and never draws from r: a caller that owns v may send it as it is.
func IsIdentity(q Compressor) bool {
	_, ok := q.(identity)
	return ok
}
