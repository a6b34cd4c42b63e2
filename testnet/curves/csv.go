package curves

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Header is the exact first line of curves.csv.
var Header = []string{"series", "seed", "epoch", "round", "loss", "gap", "test_loss", "test_accuracy"}

// headerV1 is the header before the held-out columns; ReadCSV still reads such files (their test
// columns read as NaN).
var headerV1 = Header[:6]

// ErrFormat is wrapped by every error reading a malformed curves file.
var ErrFormat = errors.New("malformed curves file")

// Row is one recorded point of one run.
type Row struct {
	Series string
	Seed   uint64
	Epoch  float64
	Round  int
	Loss   float64
	Gap    float64 // NaN when f* is unknown
	// TestLoss is the objective on the held-out set, TestAccuracy the fraction of it classified
	// correctly; NaN without a held-out set (or when the harness could not score the model).
	TestLoss     float64
	TestAccuracy float64
}

func formatFloat(f float64) string {
	if math.IsNaN(f) {
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// WriteCSV writes the header and rows.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{r.Series, strconv.FormatUint(r.Seed, 10), formatFloat(r.Epoch),
			strconv.Itoa(r.Round), formatFloat(r.Loss), formatFloat(r.Gap), formatFloat(r.TestLoss), formatFloat(r.TestAccuracy)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV parses a curves file written by WriteCSV (or by a version without the test columns).
func ReadCSV(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: reading header: %w", ErrFormat, err)
	}
	got := strings.Join(head, ",")
	if got != strings.Join(Header, ",") && got != strings.Join(headerV1, ",") {
		return nil, fmt.Errorf("%w: header %q, want %q", ErrFormat, got, strings.Join(Header, ","))
	}
	cr.FieldsPerRecord = len(head)
	var rows []Row
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		var row Row
		var errs []error
		row.Series = rec[0]
		row.Seed, err = strconv.ParseUint(rec[1], 10, 64)
		errs = append(errs, err)
		row.Epoch, err = strconv.ParseFloat(rec[2], 64)
		errs = append(errs, err)
		row.Round, err = strconv.Atoi(rec[3])
		errs = append(errs, err)
		row.Loss, err = strconv.ParseFloat(rec[4], 64)
		errs = append(errs, err)
		row.Gap, err = strconv.ParseFloat(rec[5], 64)
		errs = append(errs, err)
		row.TestLoss, row.TestAccuracy = math.NaN(), math.NaN()
		if len(rec) == len(Header) {
			row.TestLoss, err = strconv.ParseFloat(rec[6], 64)
			errs = append(errs, err)
			row.TestAccuracy, err = strconv.ParseFloat(rec[7], 64)
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrFormat, line, err)
		}
		rows = append(rows, row)
	}
}
