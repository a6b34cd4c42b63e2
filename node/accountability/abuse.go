package accountability

import "time"

// Abuse by members. The network layer penalises and blocks peers it does not trust (non-members) for
// invalid input on its own; members are trusted there (their invalid input is reported, never
// auto-blocked), because cutting a member off costs the run its votes. The Book decides for members:
// every invalid frame or message a member sends over its own authenticated channel, and every vote
// flood (a voter overrunning its allowance in the vote store), is named (InvalidFrame, Flood) and
// counted; a member with CutOffAfter offences within CutOffWindow is to be cut off for CutOffFor — the
// node closes and refuses its connections. An honest member never sends an invalid frame, and overruns
// its allowance only after dozens of attempts at one height, so a cut-off member is a Byzantine one;
// the others decide without it (at most f members can be cut off without their being more than f
// Byzantine ones).
const (
	CutOffAfter  = 50
	CutOffWindow = time.Minute
	CutOffFor    = 10 * time.Minute
)

// Offence names member for kind at time now and reports whether it is to be cut off now: it offended
// CutOffAfter times within CutOffWindow (its count then starts again). This peer and members out of
// range are ignored.
func (b *Book) Offence(member int, kind string, now time.Time) (cut bool) {
	if member < 0 || member >= b.n || member == b.self {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blameLocked(member, kind)
	recent := b.offences[member][:0]
	for _, t := range b.offences[member] {
		if now.Sub(t) < CutOffWindow {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	cut = len(recent) >= CutOffAfter
	if cut {
		recent = recent[:0]
		b.cutOffs.Add(1)
	}
	b.offences[member] = recent
	return cut
}

// CutOffs returns how many times a member was to be cut off so far.
func (b *Book) CutOffs() uint64 { return b.cutOffs.Load() }
