package probe

import (
	"errors"
	"io"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// replyQueue is the life cycle of the probers that read their sockets in goroutines of their own
// (raw ICMP, ping sockets, UDP, raw TCP): the replies channel the readers feed, closed once they
// have all stopped, and a Close that stops the readers and waits for them.
type replyQueue struct {
	replies    chan Reply
	done       chan struct{} // closed by closeWith: stop handing over replies
	readerDone chan struct{} // closed once the readers have stopped and replies is closed
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

// startReader runs each read as a reader goroutine; replies is closed when they have all
// returned.
func (q *replyQueue) startReader(reads ...func()) {
	var wg sync.WaitGroup
	for _, read := range reads {
		wg.Go(read)
	}
	go func() {
		wg.Wait()
		close(q.replies)
		close(q.readerDone)
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

// closeWith closes the sockets cs, which ends the readers, and waits for them; Replies is
// closed when it returns. Further calls return the first call's result.
func (q *replyQueue) closeWith(cs ...io.Closer) error {
	q.closeOnce.Do(func() {
		close(q.done)
		var errs []error
		for _, c := range cs {
			errs = append(errs, c.Close())
		}
		q.closeErr = errors.Join(errs...)
		<-q.readerDone
	})
	return q.closeErr
}

// readRaw is the reader loop of a raw socket: every datagram goes to parse (with its sender and
// IPv6 scope id) and what parse accepts is delivered, timed by the kernel's receive stamp. It
// returns once the socket is closed or Close was called.
func (q *replyQueue) readRaw(rc syscall.RawConn, parse func(msg []byte, from netip.Addr, scope uint32) (Reply, bool)) {
	// Big enough for any ICMP error (576 B v4, 1280 B v6 at most); longer datagrams
	// are truncated, which loses nothing a parser reads.
	buf := make([]byte, 2048)
	oob := make([]byte, 512)
	stop := false
	for !stop {
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, oobn, from, scope, err := recvmsg(fd, buf, oob, 0)
				now := time.Now()
				if err == unix.EAGAIN {
					return false // wait for the poller
				}
				if err != nil {
					rerr = err
					return true
				}
				r, ok := parse(buf[:n], from.Addr(), scope)
				if !ok {
					continue
				}
				r.At = receiveTime(now, kernelTime(oob[:oobn]))
				if !q.deliver(r) {
					stop = true
					return true
				}
			}
		})
		if err != nil {
			return // closed
		}
		if rerr != nil {
			// Nothing else is expected from a raw socket; back off so a
			// persistent error cannot spin, and keep listening.
			select {
			case <-q.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}
