package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/beevik/etree"
	bolt "go.etcd.io/bbolt"
)

// errQuota is the refusal to store a message past the user's quota.
var errQuota = errors.New("offline quota exceeded")

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

// put stores msg as the last message of user, or returns errQuota.
func (st *store) put(user string, msg *etree.Element) error {
	b, err := encode(msg)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	u := st.usage[user]
	if u.count+1 > st.quota || u.bytes+len(b) > st.quotaBytes {
		return errQuota
	}
	err = st.db.Update(func(tx *bolt.Tx) error {
		bucket, err := tx.CreateBucketIfNotExists([]byte(user))
		if err != nil {
			return err
		}
		seq, err := bucket.NextSequence()
		if err != nil {
			return err
		}
		return bucket.Put(keyBytes(seq), b)
	})
	if err == nil {
		st.usage[user] = usage{u.count + 1, u.bytes + len(b)}
	}
	return err
}

// replace puts msg in the place of the stored message key, which keeps its
// position, and marks it no longer in flight. A dispatched message whose
// delivery failed goes back there with the rules still pending.
func (st *store) replace(user string, key uint64, msg *etree.Element) error {
	b, err := encode(msg)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.inflight[user], key)
	var old int
	err = st.db.Update(func(tx *bolt.Tx) error {
		bucket := tx.Bucket([]byte(user))
		if bucket == nil {
			return fmt.Errorf("no stored messages for %s", user)
		}
		old = len(bucket.Get(keyBytes(key)))
		return bucket.Put(keyBytes(key), b)
	})
	if err == nil {
		u := st.usage[user]
		if old == 0 {
			u.count++
		}
		st.usage[user] = usage{u.count, u.bytes - old + len(b)}
	}
	return err
}

// remove deletes the stored message key: it was acknowledged, or its rules
// ended its delivery.
func (st *store) remove(user string, key uint64) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.inflight[user], key)
	var old int
	err := st.db.Update(func(tx *bolt.Tx) error {
		bucket := tx.Bucket([]byte(user))
		if bucket == nil {
			return nil
		}
		old = len(bucket.Get(keyBytes(key)))
		return bucket.Delete(keyBytes(key))
	})
	if err == nil && old > 0 {
		u := st.usage[user]
		st.usage[user] = usage{u.count - 1, u.bytes - old}
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
