//go:build unix

package journal

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// killChildEnv names the journal a child process writes until it is
// killed (see TestSIGKILLMidWriteLeavesAWholeValue).
const killChildEnv = "JOURNAL_TEST_KILL_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(killChildEnv); path != "" {
		os.Exit(writeUntilKilled(path))
	}
	os.Exit(m.Run())
}

// writeUntilKilled replaces, for ever, a number in place ("n") and a
// string in turn between two records ("s"); every value is its own
// sequence number, so a reader can tell a whole write from a torn one.
func writeUntilKilled(path string) int {
	j, err := Create(path, "0123456789abcdef")
	if err != nil {
		return 2
	}
	var n, s Value
	var buf [8]byte
	for seq := uint64(1); ; seq++ {
		binary.LittleEndian.PutUint64(buf[:], seq)
		j.Put(&n, KindNested, "k", "n", TypeInt, buf[:], seq)
		seq++
		j.Put(&s, KindNested, "k", "s", TypeString, []byte(strconv.FormatUint(seq, 10)), seq)
		if seq == 2 {
			_ = os.WriteFile(path+".ready", nil, 0o600)
		}
	}
}

// A process killed at any moment while it replaces values leaves each one
// whole: the number under its own sequence number, or, when the death
// fell between the number's store and its sequence number's, the new
// number under the previous sequence number (the call had not returned);
// the string as written by a call that returned, never a mix. Checked by
// mutation: with the sequence number stored before the number, the
// recovered number is one below its sequence number in some kills.
func TestSIGKILLMidWriteLeavesAWholeValue(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	kills := 30
	if testing.Short() || raceOn { // a child under the race detector takes a second to start
		kills = 6
	}
	for i := range kills {
		path := filepath.Join(t.TempDir(), "journal-"+strconv.Itoa(i)+".bin")
		cmd := exec.Command(exe, "-test.run", "^$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		kill := func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() }
		t.Cleanup(kill) // should the test end first, the child must not run on
		waitForFile(t, path+".ready")
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		kill()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		figs, err := Recover(data, 0)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		got := map[string]Figure{}
		for _, f := range figs { // both records of a value are live for a moment: the later counts
			if f.Seq >= got[f.Sub].Seq {
				got[f.Sub] = f
			}
		}
		n, s := got["n"], got["s"]
		if v, err := strconv.ParseUint(n.Value, 10, 64); err != nil || (v != n.Seq && v != n.Seq+2) {
			t.Errorf("kill %d: number %q under sequence number %d: a torn write", i, n.Value, n.Seq)
		}
		if s.Value != strconv.Quote(strconv.FormatUint(s.Seq, 10)) {
			t.Errorf("kill %d: string %s under sequence number %d: a torn write", i, s.Value, s.Seq)
		}
		if n.Seq == 0 || s.Seq == 0 || max(n.Seq, s.Seq)-min(n.Seq, s.Seq) != 1 {
			t.Errorf("kill %d: sequence numbers %d and %d: the later value of one of them is lost", i, n.Seq, s.Seq)
		}
	}
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear in 10 s", path)
		}
		time.Sleep(time.Millisecond)
	}
}
