package main

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/beevik/etree"
	bolt "go.etcd.io/bbolt"
)

// store keeps offline messages in one bbolt file, so that they survive a
// restart with their pending AMP rules. Each user has a bucket whose keys
// are the bucket's sequence numbers, big-endian: iterating a bucket gives
// the messages in the order they were stored.
//
// A stored message stays in the file until the session it is dispatched to
// acknowledges it (see sm.go). Until then it is in flight: a second login
// does not dispatch it again, and a crash leaves it stored, to be
// dispatched again after the restart (a duplicate with a cause, never a
// loss).
type store struct {
	db                *bolt.DB
	quota, quotaBytes int

	mu       sync.Mutex
	usage    map[string]usage               // by user: what the file holds
	inflight map[string]map[uint64]struct{} // by user: keys dispatched, not yet acknowledged
}

type usage struct{ count, bytes int }

// storedMessage is a message read back from the store.
type storedMessage struct {
	key uint64
	msg *etree.Element
}

// openStore opens or creates the file at path and counts what each user
// has stored, for the quotas.
func openStore(path string, quota, quotaBytes int) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening the store %s: %w", path, err)
	}
	// A write waits this long for others to share its transaction and its
	// fsync; the default, 10ms, is long for a message on its way.
	db.MaxBatchDelay = 2 * time.Millisecond
	st := &store{db: db, quota: quota, quotaBytes: quotaBytes, usage: map[string]usage{}, inflight: map[string]map[uint64]struct{}{}}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			var u usage
			err := b.ForEach(func(_, v []byte) error {
				u.count++
				u.bytes += len(v)
				return nil
			})
			st.usage[string(name)] = u
			return err
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("reading the store %s: %w", path, err)
	}
	return st, nil
}

// close closes the file.
func (st *store) close() error { return st.db.Close() }

// entry is a message to store: new when key is 0, otherwise in the place
// of the stored message key, which keeps its position.
type entry struct {
	key uint64
	msg *etree.Element
}

// putMany stores entries for user in one transaction, in order, and marks
// the replaced ones no longer in flight. New messages past the quota are
// not stored: putMany returns how many entries it stored, the first ones.
func (st *store) putMany(user string, entries []entry) (int, error) {
	data := make([][]byte, len(entries))
	for i, e := range entries {
		b, err := encode(e.msg)
		if err != nil {
			return 0, err
		}
		data[i] = b
	}
	// Reserve the room first: the write runs without the lock, so that
	// bbolt can commit the writes of many users in one transaction.
	st.mu.Lock()
	u := st.usage[user]
	n := 0
	for i, e := range entries {
		if e.key == 0 && (u.count+1 > st.quota || u.bytes+len(data[i]) > st.quotaBytes) {
			break
		}
		if e.key == 0 {
			u.count++
		}
		u.bytes += len(data[i])
		n++
	}
	st.usage[user] = u
	st.mu.Unlock()
	var freed int // bytes of the messages replaced
	// Batch may run the function again when another one in the batch
	// fails: it starts afresh each time. Writes for one user come one at a
	// time (under its user's lock), so new keys follow their order.
	err := st.db.Batch(func(tx *bolt.Tx) error {
		freed = 0
		bucket, err := tx.CreateBucketIfNotExists([]byte(user))
		if err != nil {
			return err
		}
		for i, e := range entries[:n] {
			key := e.key
			if key == 0 {
				if key, err = bucket.NextSequence(); err != nil {
					return err
				}
			} else {
				freed += len(bucket.Get(keyBytes(key)))
			}
			if err := bucket.Put(keyBytes(key), data[i]); err != nil {
				return err
			}
		}
		return nil
	})
	st.mu.Lock()
	defer st.mu.Unlock()
	u = st.usage[user]
	if err != nil {
		for i, e := range entries[:n] {
			if e.key == 0 {
				u.count--
			}
			u.bytes -= len(data[i])
		}
		n = 0
	} else {
		u.bytes -= freed
		for _, e := range entries[:n] {
			delete(st.inflight[user], e.key)
		}
	}
	st.usage[user] = u
	return n, err
}

// remove deletes stored messages: they were acknowledged, or their rules
// ended their delivery.
func (st *store) remove(user string, keys ...uint64) error {
	var freed, count int
	err := st.db.Batch(func(tx *bolt.Tx) error {
		freed, count = 0, 0
		bucket := tx.Bucket([]byte(user))
		if bucket == nil {
			return nil
		}
		for _, key := range keys {
			if v := bucket.Get(keyBytes(key)); v != nil {
				freed += len(v)
				count++
				if err := bucket.Delete(keyBytes(key)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, key := range keys {
		delete(st.inflight[user], key)
	}
	if err == nil {
		u := st.usage[user]
		st.usage[user] = usage{u.count - count, u.bytes - freed}
	}
	return err
}

// dispatch returns the stored messages of user that are not in flight, in
// the order they were stored, and marks them in flight.
func (st *store) dispatch(user string) ([]storedMessage, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	flying := st.inflight[user]
	if flying == nil {
		flying = map[uint64]struct{}{}
		st.inflight[user] = flying
	}
	var out []storedMessage
	err := st.db.View(func(tx *bolt.Tx) error {
		bucket := tx.Bucket([]byte(user))
		if bucket == nil {
			return nil
		}
		return bucket.ForEach(func(k, v []byte) error {
			key := binary.BigEndian.Uint64(k)
			if _, ok := flying[key]; ok {
				return nil
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(v); err != nil || doc.Root() == nil {
				return fmt.Errorf("stored message %d of %s: %v", key, user, err)
			}
			// A copy has no parent: the message stands alone, as received.
			out = append(out, storedMessage{key, doc.Root().Copy()})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for _, m := range out {
		flying[m.key] = struct{}{}
	}
	return out, nil
}

// count returns the number of messages stored for user.
func (st *store) count(user string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.usage[user].count
}

func keyBytes(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func encode(msg *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(msg.Copy())
	return doc.WriteToBytes()
}
