package ui

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/firmware/boxbus"
	"swarmbox/hw/remote"
	"swarmbox/internal/testenv"
)

// serveEnv makes the test binary a box on the bus at its value: downloadingBox behind
// org.swarmbox.Box1, so a test can stop it with SIGSTOP as a stuck daemon.
const serveEnv = "SWARMBOX_UI_TEST_BOX_BUS"

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveEnv); addr != "" {
		serveFakeBox(addr)
		return
	}
	os.Exit(m.Run())
}

func serveFakeBox(addr string) {
	conn, err := dbus.Connect(addr)
	if err != nil {
		os.Exit(2)
	}
	if err := conn.Export(busBox{downloadingBox()}, boxbus.Path, boxbus.Interface); err != nil {
		os.Exit(2)
	}
	if r, err := conn.RequestName(boxbus.Name, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		os.Exit(2)
	}
	select {}
}

// busBox exports a fakeBox with the contract's wire types.
type busBox struct{ b *fakeBox }

func dbusErr(err error) *dbus.Error {
	if err != nil {
		return boxbus.NewDBusError(boxbus.ErrFailed, err.Error())
	}
	return nil
}

func (x busBox) Items() ([]boxbus.Item, *dbus.Error) {
	out, err := x.b.Items(context.Background())
	return out, dbusErr(err)
}

func (x busBox) Item(id string) (boxbus.Item, *dbus.Error) {
	out, err := x.b.Item(context.Background(), id)
	return out, dbusErr(err)
}

func (x busBox) Categories(kind string) ([]boxbus.Shelf, *dbus.Error) {
	out, err := x.b.Categories(context.Background(), kind)
	return out, dbusErr(err)
}

func (x busBox) Wishlist() ([]string, *dbus.Error) {
	out, err := x.b.Wishlist(context.Background())
	return append([]string{}, out...), dbusErr(err)
}

func (x busBox) Account() (string, int64, *dbus.Error) {
	st, bal, err := x.b.Account(context.Background())
	return st, bal, dbusErr(err)
}

func (x busBox) Status() (string, string, string, []boxbus.Local, string, *dbus.Error) {
	st, err := x.b.Status(context.Background())
	return st.Box, st.Account, st.Headend, st.Items, st.Disk, dbusErr(err)
}

// TestStoppedDaemonOnTheBus: a box process stopped with SIGSTOP keeps its bus name and never
// answers; through a real bus and boxbus.Client, the TV says so, keeps navigating, and recovers
// after SIGCONT. When the process dies, the bus tells the TV at once.
func TestStoppedDaemonOnTheBus(t *testing.T) {
	addr := testenv.DBusDaemon(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(self)
	srv.Env = append(os.Environ(), serveEnv+"="+addr)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := NewDBusBox(conn, "")
	for deadline := time.Now().Add(10 * time.Second); !client.Running(context.Background()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the box never took its bus name")
		}
	}
	a := New(client, "", func(c *Config) {
		c.CallTimeout, c.Probe, c.Heartbeat = 300*time.Millisecond, 200*time.Millisecond, 300*time.Millisecond
	})
	sim := running(t, a)
	see(t, a, sim, 5*time.Second, "Browse the catalog", "Downloading        Drama One", "Ready to buy       Comedy Two")

	if err := srv.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	see(t, a, sim, 5*time.Second, "The box is not answering.")
	a.Press(remote.OK)
	see(t, a, sim, 2*time.Second, "Catalog — all titles (5)", "The box is not answering.")

	if err := srv.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	see(t, a, sim, 5*time.Second, "The box is answering again.")

	srv.Process.Kill()
	srv.Wait()
	see(t, a, sim, 2*time.Second, "The box is not answering.")
}
