package p2p

import (
	"sync"
	"time"
)

// maxDelayed bounds the messages a delay line holds; beyond it new ones are dropped (as a full direct
// queue drops them), so a long delay cannot grow memory without bound.
const maxDelayed = 1 << 16

// delayLine runs functions a fixed time after they were pushed, in push order, on one goroutine. It
// is how Options.SendDelay emulates network latency: every outgoing direct message and gossip publish
// leaves the host that much later, and since the delay is the same for all, order is kept.
type delayLine struct {
	delay time.Duration
	mu    sync.Mutex
	queue []delayed
	wake  chan struct{}
}

type delayed struct {
	due time.Time
	fn  func()
}

func newDelayLine(d time.Duration) *delayLine {
	return &delayLine{delay: d, wake: make(chan struct{}, 1)}
}

// push schedules fn; it reports false when the line is full and fn was dropped.
func (l *delayLine) push(fn func()) bool {
	l.mu.Lock()
	if len(l.queue) >= maxDelayed {
		l.mu.Unlock()
		return false
	}
	l.queue = append(l.queue, delayed{due: time.Now().Add(l.delay), fn: fn})
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

// run executes due functions until done is closed; what is still queued then is dropped.
func (l *delayLine) run(done <-chan struct{}) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		l.mu.Lock()
		var next delayed
		have := len(l.queue) > 0
		if have {
			next = l.queue[0]
		}
		l.mu.Unlock()
		if have {
			if wait := time.Until(next.due); wait > 0 {
				t.Reset(wait)
				select {
				case <-done:
					return
				case <-t.C:
				}
				continue
			}
			l.mu.Lock()
			l.queue[0] = delayed{}
			l.queue = l.queue[1:]
			l.mu.Unlock()
			next.fn()
			continue
		}
		select {
		case <-done:
			return
		case <-l.wake:
		}
	}
}
