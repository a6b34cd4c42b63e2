package sim

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Job is one (series, seed) run of an experiment.
type Job struct {
	Series string
	Spec   Spec
}

// JobResult pairs a job with its result.
type JobResult struct {
	Job
	*Result
}

// RunMany runs the jobs on up to workers goroutines (≤ 0: GOMAXPROCS) and returns results in job
// order. progress, if not nil, receives the total number of rounds completed over all jobs; it is
// called from the workers, so it must be safe for concurrent use. The first error cancels the rest.
func RunMany(ctx context.Context, jobs []Job, workers int, progress func(done int64)) ([]JobResult, error) {
	return RunManyWith(ctx, &DataCache{}, jobs, workers, progress)
}

// RunManyWith is RunMany loading the data through cache, which may already hold it (testnet sim has
// built the specs once to count the rounds of --epochs).
func RunManyWith(ctx context.Context, cache *DataCache, jobs []Job, workers int, progress func(done int64)) ([]JobResult, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]JobResult, len(jobs))
	var done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				last := 0
				res, err := Run(ctx, jobs[i].Spec, cache, func(round int) {
					if progress != nil {
						progress(done.Add(int64(round - last)))
					}
					last = round
				})
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					continue
				}
				results[i] = JobResult{Job: jobs[i], Result: res}
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}
