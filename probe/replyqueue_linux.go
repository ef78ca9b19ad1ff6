package probe

import (
	"io"
	"sync"
)

// replyQueue is the life cycle of the probers that read their socket in a goroutine of their own
// (raw ICMP, ping sockets, UDP): the replies channel the reader feeds and closes, and a Close
// that stops the reader and waits for it.
type replyQueue struct {
	replies    chan Reply
	done       chan struct{} // closed by closeWith: stop handing over replies
	readerDone chan struct{} // closed by the reader once it has closed replies
	closeOnce  sync.Once
	closeErr   error
}

// repliesBuffer absorbs a burst of answers (a whole round arriving at once)
// while the scheduler is busy.
const repliesBuffer = 256

func (q *replyQueue) initQueue() {
	q.replies = make(chan Reply, repliesBuffer)
	q.done = make(chan struct{})
	q.readerDone = make(chan struct{})
}

// startReader runs read as the reader goroutine; replies is closed when it returns.
func (q *replyQueue) startReader(read func()) {
	go func() {
		defer close(q.readerDone)
		defer close(q.replies)
		read()
	}()
}

// deliver hands r over to the scheduler, or drops it and returns false once Close was called.
func (q *replyQueue) deliver(r Reply) bool {
	select {
	case q.replies <- r:
		return true
	case <-q.done:
		return false
	}
}

// Replies delivers answers to our probes only, in arrival order. It is closed once Close has
// stopped the reader.
func (q *replyQueue) Replies() <-chan Reply { return q.replies }

// closeWith closes the socket c, which ends the reader, and waits for the reader; Replies is
// closed when it returns. Further calls return the first call's result.
func (q *replyQueue) closeWith(c io.Closer) error {
	q.closeOnce.Do(func() {
		close(q.done)
		q.closeErr = c.Close()
		<-q.readerDone
	})
	return q.closeErr
}
