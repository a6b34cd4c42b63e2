package outsider

import "encoding/binary"

// Gossipsub RPCs, encoded by hand (protobuf, go-libp2p-pubsub's pb/rpc.proto): the attacker writes
// them straight onto a gossipsub stream, uvarint-delimited as gossipsub reads them.
//
//	RPC      { repeated SubOpts subscriptions = 1; repeated Message publish = 2; }
//	SubOpts  { optional bool subscribe = 1; optional string topicid = 2; }
//	Message  { bytes from = 1; bytes data = 2; bytes seqno = 3; string topic = 4; bytes signature = 5; }

type subOpt struct {
	subscribe bool
	topic     string
}

type pubMsg struct {
	topic                        string
	data, from, seqno, signature []byte
}

func appendTag(b []byte, field, wireType int) []byte {
	return binary.AppendUvarint(b, uint64(field<<3|wireType))
}

func appendBytes(b []byte, field int, v []byte) []byte {
	b = appendTag(b, field, 2)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// encodeRPC encodes an RPC with the given subscriptions and messages.
func encodeRPC(subs []subOpt, msgs []pubMsg) []byte {
	var out []byte
	for _, s := range subs {
		var m []byte
		m = appendTag(m, 1, 0)
		if s.subscribe {
			m = append(m, 1)
		} else {
			m = append(m, 0)
		}
		m = appendBytes(m, 2, []byte(s.topic))
		out = appendBytes(out, 1, m)
	}
	for _, p := range msgs {
		var m []byte
		if p.from != nil {
			m = appendBytes(m, 1, p.from)
		}
		m = appendBytes(m, 2, p.data)
		if p.seqno != nil {
			m = appendBytes(m, 3, p.seqno)
		}
		m = appendBytes(m, 4, []byte(p.topic))
		if p.signature != nil {
			m = appendBytes(m, 5, p.signature)
		}
		out = appendBytes(out, 2, m)
	}
	return out
}

// delimit prefixes b with its uvarint length (msgio's varint framing).
func delimit(b []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}
