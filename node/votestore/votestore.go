package votestore

import "github.com/byzpp/byzpp/consensus"

// PerVoter is the default number of votes kept per (height, voter): the last 16 attempts' prevote and
// precommit of an honest voter.
const PerVoter = 32

// Store holds signed vote envelopes by vote. The zero value is not usable: call New.
type Store struct {
	perVoter int
	heights  map[uint64]map[int][]entry // height → voter → its votes, in arrival order
	evicted  map[uint64]map[int]int     // height → voter → votes of it evicted or refused at that height
	size     int
}

type entry struct {
	vote       consensus.Vote
	raw        []byte
	unverified bool
}

// New returns an empty store keeping at most perVoter votes per (height, voter).
func New(perVoter int) *Store {
	if perVoter < 2 {
		perVoter = 2
	}
	return &Store{perVoter: perVoter, heights: map[uint64]map[int][]entry{}, evicted: map[uint64]map[int]int{}}
}

func (s *Store) find(v consensus.Vote) ([]entry, int) {
	list := s.heights[v.Height][v.Voter]
	for i := range list {
		if list[i].vote == v {
			return list, i
		}
	}
	return list, -1
}

// Get returns the envelope of v and whether its signature is still unchecked.
func (s *Store) Get(v consensus.Vote) (raw []byte, unverified, ok bool) {
	list, i := s.find(v)
	if i < 0 {
		return nil, false, false
	}
	return list[i].raw, list[i].unverified, true
}

// Has reports whether v is stored.
func (s *Store) Has(v consensus.Vote) bool { _, i := s.find(v); return i >= 0 }

// Put stores v's envelope unless v is already stored, and reports whether it stored it. When the
// voter already holds its allowance at v's height, its vote of the lowest attempt goes (prevotes
// before precommits); v itself is refused if it is older than all of them.
func (s *Store) Put(v consensus.Vote, raw []byte, unverified bool) bool {
	list, i := s.find(v)
	if i >= 0 {
		return false
	}
	if len(list) >= s.perVoter {
		s.overrun(v)
		low := lowest(list)
		if older(v, list[low].vote) {
			return false
		}
		list = append(list[:low], list[low+1:]...)
		s.size--
	}
	byVoter := s.heights[v.Height]
	if byVoter == nil {
		byVoter = map[int][]entry{}
		s.heights[v.Height] = byVoter
	}
	byVoter[v.Voter] = append(list, entry{vote: v, raw: raw, unverified: unverified})
	s.size++
	return true
}

// older orders votes by attempt, a prevote before the precommit of the same attempt.
func older(a, b consensus.Vote) bool {
	if a.Round != b.Round {
		return a.Round < b.Round
	}
	return a.Type == consensus.Prevote && b.Type == consensus.Precommit
}

func lowest(list []entry) int {
	low := 0
	for i := range list {
		if older(list[i].vote, list[low].vote) {
			low = i
		}
	}
	return low
}

func (s *Store) overrun(v consensus.Vote) {
	byVoter := s.evicted[v.Height]
	if byVoter == nil {
		byVoter = map[int]int{}
		s.evicted[v.Height] = byVoter
	}
	byVoter[v.Voter]++
}

// Overruns is how many votes of voter at height h went beyond its allowance (evicting an older one or
// refused): an honest voter reaches it only after PerVoter/2 attempts at one height.
func (s *Store) Overruns(h uint64, voter int) int { return s.evicted[h][voter] }

// MarkVerified records that v's signature holds.
func (s *Store) MarkVerified(v consensus.Vote) {
	if list, i := s.find(v); i >= 0 {
		list[i].unverified = false
	}
}

// Delete forgets v.
func (s *Store) Delete(v consensus.Vote) {
	list, i := s.find(v)
	if i < 0 {
		return
	}
	s.heights[v.Height][v.Voter] = append(list[:i], list[i+1:]...)
	s.size--
}

// PruneBelow forgets every vote of a height below h.
func (s *Store) PruneBelow(h uint64) {
	for height, byVoter := range s.heights {
		if height < h {
			for _, list := range byVoter {
				s.size -= len(list)
			}
			delete(s.heights, height)
		}
	}
	for height := range s.evicted {
		if height < h {
			delete(s.evicted, height)
		}
	}
}

// Len is the number of votes stored.
func (s *Store) Len() int { return s.size }

// Voters calls f for every voter with a vote stored at height h (in no particular order).
func (s *Store) Voters(h uint64, f func(voter int)) {
	for voter, list := range s.heights[h] {
		if len(list) > 0 {
			f(voter)
		}
	}
}
