package headend

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"swarmbox/sync/protocol"
	"sync"
	"testing"
	"time"
)

// clientFrom is an HTTP client whose connections come from the loopback address ip.
func clientFrom(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func healthy(c *http.Client, url string) error {
	resp, err := c.Get(url + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// TestSlowBodyClientDropped: clients that send a request header and then trickle (or stop
// sending) the body are dropped by the server once the request's read time is up, however many
// there are; one address cannot hold more than its connections; and all along the head-end
// answers everyone else. Only behaviour is asserted: the drop must come within a bound far above
// the configured read time.
func TestSlowBodyClientDropped(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const perAddr = 8
	hs := NewHTTPServer(f.hs.Handler(), Serving{ReadHeader: time.Second, Read: time.Second}, nil)
	go hs.Serve(LimitConns(ln, perAddr, nil))
	t.Cleanup(func() { hs.Close() })
	url := "http://" + ln.Addr().String()

	const slow = 3 * perAddr
	var wg sync.WaitGroup
	dropped := make(chan error, slow)
	started := make(chan struct{}, slow)
	for range slow {
		wg.Go(func() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				dropped <- nil // refused outright: also not held
				started <- struct{}{}
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /v1/sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"box")
			started <- struct{}{}
			// Nothing more is sent. The server must end the connection; 20 s is far beyond the
			// 1 s read time and only guards against a server that holds it for good.
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.Copy(io.Discard, c)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				dropped <- errors.New("the server still holds the connection after 20 s")
				return
			}
			dropped <- nil
		})
	}
	for range slow {
		<-started
	}
	// While they hang: another address is served.
	if err := healthy(clientFrom(t, "127.0.0.2"), url); err != nil {
		t.Fatalf("another client while %d slow ones hang: %v", slow, err)
	}
	wg.Wait()
	close(dropped)
	for err := range dropped {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Their address gets its connections back once they are gone.
	if err := healthy(clientFrom(t, "127.0.0.1"), url); err != nil {
		t.Fatalf("the slow clients' address after they were dropped: %v", err)
	}
}

// TestConnectionsPerAddressLimited: one address holding its limit of idle connections gets no
// more (the next is closed at once) while another address is served; closing one gives its slot
// back.
func TestConnectionsPerAddressLimited(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), Serving{}, nil)
	go hs.Serve(LimitConns(ln, 3, nil))
	t.Cleanup(func() { hs.Close() })
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		held = append(held, c)
	}
	// A fourth from the same address: accepted by the kernel, closed by the server unanswered.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if b, err := io.ReadAll(c); len(b) > 0 || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection over the limit: read %q, %v; want it closed unanswered", b, err)
	}
	if err := healthyText(clientFrom(t, "127.0.0.2"), "http://"+ln.Addr().String()); err != nil {
		t.Fatalf("another address: %v", err)
	}
	held[0].Close()
	var last error
	for range 100 { // the server notices the close when it reads; give it a moment
		if last = healthyText(clientFrom(t, "127.0.0.1"), "http://"+ln.Addr().String()); last == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the address after closing one connection: %v", last)
}

func healthyText(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "ok" {
		return fmt.Errorf("answer %q", b)
	}
	return nil
}

// TestSeedAnswersOutliveTheWriteTimeout: a web seed answer that keeps moving is written to the
// end however long it takes in all (each chunk gets its own deadline), while any other answer
// still has to be written within the whole-answer write time, and a seed client that stops
// reading is dropped.
func TestSeedAnswersOutliveTheWriteTimeout(t *testing.T) {
	const size = 32 << 20
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		chunk := make([]byte, 32<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer(stream, Serving{Write: 500 * time.Millisecond, SeedChunk: 5 * time.Second}, nil)
	go hs.Serve(LimitConns(ln, 0, nil))
	t.Cleanup(func() { hs.Close() })
	base := "http://" + ln.Addr().String()
	// slowRead reads the answer with a pause after every 64 KiB, so the whole takes at least
	// 2 s, four times the write time (each chunk still goes out well within its 5 s); it returns
	// how much arrived.
	slowRead := func(path string) int64 {
		resp, err := clientFrom(t, "127.0.0.1").Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var n int64
		buf := make([]byte, 64<<10)
		for {
			k, err := resp.Body.Read(buf)
			n += int64(k)
			if err != nil {
				return n
			}
			time.Sleep(4 * time.Millisecond)
		}
	}
	if n := slowRead(protocol.PathSeed + "box/token/file"); n != size {
		t.Fatalf("a moving web seed answer was cut after %d of %d bytes", n, size)
	}
	if n := slowRead("/v1/catalog"); n >= size {
		t.Fatalf("another answer taking four times the write time was not cut")
	}
}
