package up

import "github.com/byzpp/byzpp/node/status"

// Num is a float64 that JSON writes as null when it is NaN or infinite (JSON has no such numbers)
// and reads back from null as NaN: package status' Num, which the peers' /status uses too.
type Num = status.Num
