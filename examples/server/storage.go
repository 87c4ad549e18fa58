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
// Writes are committed in groups: one goroutine takes every write queued
// while the previous transaction committed and commits them together, with
// one fsync. A write's callback runs once its transaction committed (or
// failed), on another goroutine, so that a callback that stores more, or
// waits for a user's lock, never holds up the commits. The sender of a
// stored message hears of it (its XEP-0198 acknowledgement, its notify
// events) from that callback.
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
	usage    map[string]usage               // by user: what the file holds, and what is reserved
	inflight map[string]map[uint64]struct{} // by user: keys dispatched, not yet acknowledged
	unsynced map[string]int                 // by user: writes queued, not yet committed
	queued   []*write
	entries  int           // entries in queued and in the transaction being committed
	changed  chan struct{} // closed and replaced whenever a commit or the callbacks end
	wake     chan struct{} // the committer has work
	closing  bool
	// pending are the committed writes whose callbacks have not run;
	// running counts those and the one running.
	pending []*write
	running int
	cond    *sync.Cond // signals pending or quit
	quit    bool       // the committer stopped
	done    chan struct{}
}

type usage struct{ count, bytes int }

// storedMessage is a message read back from the store.
type storedMessage struct {
	key uint64
	msg *etree.Element
}

// entry is a message to store: new when key is 0, otherwise in the place
// of the stored message key, which keeps its position.
type entry struct {
	key uint64
	msg *etree.Element
}

// write is one queued change: messages put or removed for one user.
type write struct {
	user    string
	puts    []entry
	data    [][]byte
	removes []uint64
	then    func(err error)
	err     error
	freed   int // bytes of the messages replaced or removed
	removed int // messages removed
}

// openStore opens or creates the file at path and counts what each user
// has stored, for the quotas.
func openStore(path string, quota, quotaBytes int) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening the store %s: %w", path, err)
	}
	st := &store{db: db, quota: quota, quotaBytes: quotaBytes, usage: map[string]usage{}, inflight: map[string]map[uint64]struct{}{}, unsynced: map[string]int{},
		changed: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan struct{})}
	st.cond = sync.NewCond(&st.mu)
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
	go st.commitLoop()
	go st.callbackLoop()
	return st, nil
}

// close commits what is queued, waits for the callbacks, which may queue
// more, and closes the file. The server calls it once no session is left.
func (st *store) close() error {
	st.drain()
	st.mu.Lock()
	st.closing = true
	st.mu.Unlock()
	st.signal()
	<-st.done
	return st.db.Close()
}

// drain waits until nothing is queued, being committed, or waiting to run
// as a callback.
func (st *store) drain() {
	for {
		st.mu.Lock()
		idle := st.entries == 0 && len(st.queued) == 0 && st.running == 0
		ch := st.changed
		st.mu.Unlock()
		if idle {
			return
		}
		<-ch
	}
}

// put queues entries for user, in order. New messages past the quota are
// not stored: put returns how many entries it queued, the first ones. Once
// they are committed, the replaced ones are no longer in flight and then
// is called with that number and the commit's error; with none queued, it
// is not called.
func (st *store) put(user string, entries []entry, then func(n int, err error)) int {
	data := make([][]byte, 0, len(entries))
	for _, e := range entries {
		b, err := encode(e.msg)
		if err != nil {
			break // cannot happen for a message read from XML; stored up to here
		}
		data = append(data, b)
	}
	st.mu.Lock()
	u := st.usage[user]
	n := 0
	for i, e := range entries[:len(data)] {
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
	if n == 0 {
		st.mu.Unlock()
		return 0
	}
	st.queueLocked(&write{user: user, puts: entries[:n], data: data[:n], then: func(err error) { then(n, err) }})
	st.mu.Unlock()
	st.signal()
	return n
}

// remove queues the removal of stored messages: they were acknowledged,
// or their rules ended their delivery. They stay in flight until then.
func (st *store) remove(user string, keys []uint64) {
	st.mu.Lock()
	st.queueLocked(&write{user: user, removes: keys})
	st.mu.Unlock()
	st.signal()
}

func (st *store) queueLocked(w *write) {
	st.queued = append(st.queued, w)
	st.entries += len(w.puts) + len(w.removes)
	st.unsynced[w.user]++
}

func (st *store) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// commitLoop commits the queued writes, all those queued at once in one
// transaction, until close.
func (st *store) commitLoop() {
	for {
		st.mu.Lock()
		batch := st.queued
		st.queued = nil
		closing := st.closing
		st.mu.Unlock()
		if len(batch) == 0 {
			if closing {
				st.mu.Lock()
				st.quit = true
				st.mu.Unlock()
				st.cond.Signal()
				return
			}
			<-st.wake
			continue
		}
		err := st.db.Update(func(tx *bolt.Tx) error { return applyAll(tx, batch) })
		for _, w := range batch {
			w.err = err
		}
		if err != nil && len(batch) > 1 {
			// One bad write must not fail the others: each alone.
			for _, w := range batch {
				w.err = st.db.Update(func(tx *bolt.Tx) error { return applyAll(tx, []*write{w}) })
			}
		}
		st.finish(batch)
	}
}

func applyAll(tx *bolt.Tx, batch []*write) error {
	for _, w := range batch {
		w.freed, w.removed = 0, 0
		bucket, err := tx.CreateBucketIfNotExists([]byte(w.user))
		if err != nil {
			return err
		}
		for i, e := range w.puts {
			key := e.key
			if key == 0 {
				if key, err = bucket.NextSequence(); err != nil {
					return err
				}
			} else {
				w.freed += len(bucket.Get(keyBytes(key)))
			}
			if err := bucket.Put(keyBytes(key), w.data[i]); err != nil {
				return err
			}
		}
		for _, key := range w.removes {
			if v := bucket.Get(keyBytes(key)); v != nil {
				w.freed += len(v)
				w.removed++
				if err := bucket.Delete(keyBytes(key)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// finish updates the accounts after a commit and queues the callbacks.
func (st *store) finish(batch []*write) {
	st.mu.Lock()
	for _, w := range batch {
		u := st.usage[w.user]
		if w.err != nil {
			for i, e := range w.puts {
				if e.key == 0 {
					u.count--
				}
				u.bytes -= len(w.data[i])
			}
		} else {
			u.bytes -= w.freed
			u.count -= w.removed
		}
		st.usage[w.user] = u
		for _, e := range w.puts {
			delete(st.inflight[w.user], e.key)
		}
		for _, key := range w.removes {
			delete(st.inflight[w.user], key)
		}
		st.entries -= len(w.puts) + len(w.removes)
		if st.unsynced[w.user]--; st.unsynced[w.user] == 0 {
			delete(st.unsynced, w.user)
		}
		if w.then != nil {
			st.pending = append(st.pending, w)
			st.running++
		}
	}
	close(st.changed)
	st.changed = make(chan struct{})
	st.mu.Unlock()
	st.cond.Signal()
}

// callbackLoop runs the callbacks of committed writes, in order.
func (st *store) callbackLoop() {
	defer close(st.done)
	for {
		st.mu.Lock()
		for len(st.pending) == 0 && !st.quit {
			st.cond.Wait()
		}
		ws := st.pending
		st.pending = nil
		quit := st.quit
		st.mu.Unlock()
		if len(ws) == 0 && quit {
			return
		}
		for _, w := range ws {
			w.then(w.err)
			st.mu.Lock()
			st.running--
			if st.running == 0 {
				close(st.changed)
				st.changed = make(chan struct{})
			}
			st.mu.Unlock()
		}
	}
}

// dispatch returns, in the order they were stored, up to limit stored
// messages of user after the key after that are not in flight, and marks
// them in flight. It first waits for the user's queued writes, so that it
// sees every message stored before. The caller holds the user's lock, so
// nothing else stores for the user meanwhile.
func (st *store) dispatch(user string, after uint64, limit int) ([]storedMessage, error) {
	st.mu.Lock()
	for st.unsynced[user] > 0 {
		ch := st.changed
		st.mu.Unlock()
		st.signal()
		<-ch
		st.mu.Lock()
	}
	// A removal may commit while the file is read: it is of a message in
	// flight, which this snapshot skips.
	flying := make(map[uint64]struct{}, len(st.inflight[user]))
	for k := range st.inflight[user] {
		flying[k] = struct{}{}
	}
	st.mu.Unlock()
	var out []storedMessage
	err := st.db.View(func(tx *bolt.Tx) error {
		bucket := tx.Bucket([]byte(user))
		if bucket == nil {
			return nil
		}
		cur := bucket.Cursor()
		for k, v := cur.Seek(keyBytes(after + 1)); k != nil && len(out) < limit; k, v = cur.Next() {
			key := binary.BigEndian.Uint64(k)
			if _, ok := flying[key]; ok {
				continue
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(v); err != nil || doc.Root() == nil {
				return fmt.Errorf("stored message %d of %s: %v", key, user, err)
			}
			// A copy has no parent: the message stands alone, as received.
			out = append(out, storedMessage{key, doc.Root().Copy()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.inflight[user] == nil {
		st.inflight[user] = map[uint64]struct{}{}
	}
	for _, m := range out {
		st.inflight[user][m.key] = struct{}{}
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
