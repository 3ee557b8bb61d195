package emulator

import (
	"os"
	"strings"
	"sync"
)

// Log keeps a guest's serial console in memory and in a file (the test's artifact).
type Log struct {
	mu   sync.Mutex
	buf  strings.Builder
	file *os.File
	wake chan struct{}
}

func newLog(path string) (*Log, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &Log{file: f, wake: make(chan struct{})}, nil
}

// Write appends console output and wakes waiters.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.file.Write(p)
	close(l.wake)
	l.wake = make(chan struct{})
	return len(p), nil
}

// String is everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *Log) changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wake
}

// Close closes the file.
func (l *Log) Close() error { return l.file.Close() }
