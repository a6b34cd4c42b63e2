package node

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/storage"
)

// signedSlot is one vote a member may sign at most once.
type signedSlot struct {
	height uint64
	round  uint32
	typ    consensus.VoteType
}

// signedVotes records every vote a member's incarnations let out (or were about to) and reports any
// slot signed with two values: what a restart must never do.
type signedVotes struct {
	mu        sync.Mutex
	t         *testing.T
	by        map[signedSlot]consensus.ValueID
	sentAfter map[signedSlot]consensus.ValueID // votes of the restarted incarnation
}

func (s *signedVotes) note(incarnation int, v consensus.Vote) {
	s.mu.Lock()
	defer s.mu.Unlock()
	slot := signedSlot{v.Height, v.Round, v.Type}
	if prev, ok := s.by[slot]; ok && prev != v.Value {
		s.t.Errorf("conflicting %v at height %d attempt %d: %x, then %x (incarnation %d)",
			v.Type, v.Height, v.Round, prev[:4], v.Value[:4], incarnation)
	}
	s.by[slot] = v.Value
	if incarnation > 1 {
		s.sentAfter[slot] = v.Value
	}
}

// TestCrashAtRoundSteps: member 2 crashes at an exact step of height crashHeight and restarts on its
// StateDir. (a) After its prevote was persisted and synced but before it was sent: the restarted
// member resumes the height, re-sends that very prevote and signs nothing conflicting. (b) After the
// decided state was persisted but before the next height started: it resumes at the next height.
// In both, no honest member records equivocation evidence against it and everyone agrees to the end.
func TestCrashAtRoundSteps(t *testing.T) {
	skipShort(t)
	const crashHeight, rounds, member = 5, 15, 2
	crashAtPrevote := func(nd *Node, votes *signedVotes, crashed *consensus.Vote) {
		nd.hooks.beforeSend = func(m consensus.Message) error {
			if m.Kind != consensus.KindVote {
				return nil
			}
			v := m.Vote
			votes.note(1, v)
			// The first prevote from crashHeight on: at full speed a member can see a height decided
			// by the others before it votes there, and skip it.
			if v.Type == consensus.Prevote && v.Height >= crashHeight && crashed.Height == 0 && !m.Rebroadcast {
				*crashed = v
				return errTestCrash
			}
			return nil
		}
	}
	cases := []struct {
		name  string
		crash func(nd *Node, votes *signedVotes, crashed *consensus.Vote)
		// resumeAt is the round the restarted member must restore (0: the height it crashed at).
		resumeAt uint64
		// damage, if set, damages the StateDir before the restart; the member can then no longer
		// know what it signed, so it must not be required to re-send it.
		damage func(dir string)
	}{
		{"prevote persisted, not sent", crashAtPrevote, 0, nil},
		{"decision persisted, next height not started", func(nd *Node, votes *signedVotes, crashed *consensus.Vote) {
			nd.hooks.beforeSend = func(m consensus.Message) error {
				if m.Kind == consensus.KindVote {
					votes.note(1, m.Vote)
				}
				return nil
			}
			nd.hooks.afterDecided = func(h uint64) error {
				if h == crashHeight {
					return errTestCrash
				}
				return nil
			}
		}, crashHeight + 1, nil},
		// (c) As (a), but the journal's last record — the synced one holding that prevote — is then
		// damaged (a flipped payload byte: a complete record failing its checksum, not a torn
		// append). The member restores an earlier record and no longer knows it prevoted: it must sit
		// out the heights it may have voted at rather than vote again.
		{"prevote persisted, not sent, record then damaged", crashAtPrevote, 0, func(dir string) {
			path := filepath.Join(dir, storage.JournalFile)
			if b, err := os.ReadFile(path); err == nil {
				b[len(b)-3] ^= 0x10
				_ = os.WriteFile(path, b, 0o600)
			}
		}},
		// (d) As (a), but the machine restarts before the journal was synced (storage/durability.go): the
		// records written since the last sync, that prevote among them, are gone, and the journal
		// was opened in another boot. The member must notice and sit out rather than vote again.
		{"prevote written, not sent, machine restarted before a sync", crashAtPrevote, 0, storage.LoseUnsyncedTail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				votes := &signedVotes{t: t, by: map[signedSlot]consensus.ValueID{}, sentAfter: map[signedSlot]consensus.ValueID{}}
				var crashed consensus.Vote
				r := runNet(t, netPlan{spec: adversarialSpec(4, rounds), rounds: rounds,
					restartOnCrash: map[int]bool{member: true}, crashPause: time.Second, beforeRestart: c.damage,
					install: func(i, incarnation int, nd *Node) {
						switch {
						case i != member:
						case incarnation == 1:
							c.crash(nd, votes, &crashed)
							nd.store.SetSignBoundStride(2) // sits out a few heights after amnesia, not 32
						default:
							nd.hooks.beforeSend = func(m consensus.Message) error {
								if m.Kind == consensus.KindVote {
									votes.note(incarnation, m.Vote)
								}
								return nil
							}
						}
					}})
				r.checkHonest(t)
				if r.starts[member] != 2 {
					t.Fatalf("member %d started %d times, want a crash and a restart", member, r.starts[member])
				}
				resumeAt := c.resumeAt
				if resumeAt == 0 {
					resumeAt = crashed.Height
				}
				if r.resumedAt != resumeAt {
					t.Errorf("restarted at round %d, want %d", r.resumedAt, resumeAt)
				}
				if c.damage != nil {
					if !r.nodes[member].mayHaveForgotten {
						t.Error("the restarted member did not notice its damaged journal")
					}
					if a := &r.nodes[member].amnesia; a.Active() {
						t.Errorf("the restarted member still abstains at the end (through height %d)", a.Through())
					}
				}
				if crashed.Height != 0 && c.damage == nil {
					slot := signedSlot{crashed.Height, crashed.Round, crashed.Type}
					if v, ok := votes.sentAfter[slot]; !ok || v != crashed.Value {
						t.Errorf("the restarted member did not re-send the prevote it persisted before the crash")
					}
				}
				for i, nd := range r.nodes {
					if i == member {
						continue
					}
					if ev := nd.Status().Evidence; ev != 0 {
						t.Errorf("member %d recorded %d equivocation evidence", i, ev)
					}
				}
				if b := r.blame(member, blameEquivocate); b != 0 {
					t.Errorf("the restarted member was named for equivocation %d times", b)
				}
				want := r.nodes[0].Status()
				if got := r.nodes[member].Status(); got.Round != want.Round || got.Digest != want.Digest {
					t.Errorf("restarted member ends at round %d digest %.12s, member 0 at %d %.12s", got.Round, got.Digest, want.Round, want.Digest)
				}
				t.Logf("restarted at round %d; %d votes signed in all, %d after the restart", r.resumedAt, len(votes.by), len(votes.sentAfter))
			})
		})
	}
}
