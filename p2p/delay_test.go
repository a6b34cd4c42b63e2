package p2p

import (
	"testing"
	"time"
)

// TestDelayLine: functions run in push order, none before its delay has passed, and nothing runs
// after the line is stopped.
func TestDelayLine(t *testing.T) {
	const d = 30 * time.Millisecond
	l := newDelayLine(d)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() { l.run(done); close(stopped) }()
	got := make(chan int, 10)
	var pushed [5]time.Time
	ran := make([]time.Time, 5)
	for i := range 5 {
		pushed[i] = time.Now()
		if !l.push(func() { ran[i] = time.Now(); got <- i }) {
			t.Fatal("push refused")
		}
		time.Sleep(time.Millisecond)
	}
	for want := range 5 {
		if i := <-got; i != want {
			t.Fatalf("ran %d, want %d", i, want)
		}
		if early := ran[want].Sub(pushed[want]); early < d {
			t.Fatalf("function %d ran %v after its push, before the %v delay", want, early, d)
		}
	}
	close(done)
	<-stopped
	l.push(func() { t.Error("ran after stop") })
	time.Sleep(2 * d)
}

// TestDelayLineBounded: a full line refuses more.
func TestDelayLineBounded(t *testing.T) {
	l := newDelayLine(time.Hour)
	for range maxDelayed {
		if !l.push(func() {}) {
			t.Fatal("refused below the bound")
		}
	}
	if l.push(func() {}) {
		t.Fatal("accepted above the bound")
	}
}

// TestSendDelayValidated: a negative delay is a configuration error.
func TestSendDelayValidated(t *testing.T) {
	if err := (Options{SendDelay: -time.Second}).Validate(); err == nil {
		t.Fatal("negative send delay accepted")
	}
}
