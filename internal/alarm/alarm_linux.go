package alarm

import (
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdTimer is a non-blocking timerfd registered with Go's poller. Its system calls are raw: they
// never block, and going through the scheduler's syscall bookkeeping would wake the monitor
// thread, which is what the timerfd is there to avoid.
type fdTimer struct {
	c  chan time.Time
	mu sync.Mutex // orders set against the reader's read and hand-over
	f  *os.File
	rc syscall.RawConn
}

func newFD() (*fdTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "timerfd") // non-blocking, so the poller takes it
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	t := &fdTimer{c: make(chan time.Time, 1), f: f, rc: rc}
	go t.wait()
	return t, nil
}

// set arms the timerfd d from now, or disarms it when d is 0, and discards a firing not yet
// received. Setting the timerfd also clears an expiry the reader has not read yet.
func (t *fdTimer) set(d time.Duration) {
	var v unix.ItimerSpec
	v.Value = unix.NsecToTimespec(int64(d))
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.rc.Control(func(fd uintptr) {
		// Fails only for a bad descriptor or value, neither of which can happen here.
		_, _, _ = unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&v)), 0, 0, 0)
	})
	select {
	case <-t.c:
	default:
	}
}

// wait is the reader goroutine: it hands each expiry over on c until the file is closed.
func (t *fdTimer) wait() {
	var buf [8]byte // the expiry count
	for {
		err := t.rc.Read(func(fd uintptr) bool {
			t.mu.Lock()
			defer t.mu.Unlock()
			_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
			if e != 0 {
				return false // EAGAIN: not expired (or set again since); wait for the poller
			}
			select {
			case t.c <- time.Now():
			default: // the last firing is still unread: one is enough
			}
			return true
		})
		if err != nil {
			return // closed
		}
	}
}

func (t *fdTimer) close() { t.f.Close() }
