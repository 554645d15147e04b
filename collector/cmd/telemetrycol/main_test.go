package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/otelcol"
)

func TestSampleConfigIsValid(t *testing.T) {
	set := settings()
	set.ConfigProviderSettings.ResolverSettings.URIs = []string{"file:" + filepath.Join("..", "..", "config.yaml")}
	col, err := otelcol.NewCollector(set)
	if err != nil {
		t.Fatal(err)
	}
	if err := col.DryRun(t.Context()); err != nil {
		t.Errorf("config.yaml does not validate: %v", err)
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCollectorTakesUpdates runs the distribution with the sample
// configuration on a free port and posts an update to it.
func TestCollectorTakesUpdates(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	cfg := strings.Replace(string(sample), "endpoint: localhost:8418", "endpoint: "+addr, 1)
	cfg = strings.Replace(cfg, "verbosity: detailed", "verbosity: basic", 1)
	// The Collector's own metrics server would take port 8888.
	cfg += "  telemetry:\n    metrics:\n      level: none\n"
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	set := settings()
	set.DisableGracefulShutdown = true
	set.ConfigProviderSettings.ResolverSettings.URIs = []string{"file:" + path}
	col, err := otelcol.NewCollector(set)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- col.Run(t.Context()) }()
	defer func() {
		col.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	id := uuid.New()
	body := `{"instance_id":"` + id.String() + `","timestamp":"2026-11-25T10:00:00Z","data":{"http_requests":3,"arch":"amd64"}}`
	url := "http://" + addr + "/v1/update/" + id.String()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector never took the update: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadmeShowsTheSampleConfig keeps the README's excerpt of the sample
// configuration in step with the file.
func TestReadmeShowsTheSampleConfig(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile(filepath.Join("..", "..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, found := strings.Cut(string(readme), "```yaml\nreceivers:\n  telemetry:\n")
	excerpt, _, closed := strings.Cut(rest, "```")
	if !found || !closed {
		t.Fatal("the README has no excerpt of the telemetry receiver's configuration")
	}
	if !strings.Contains(string(sample), excerpt) {
		t.Errorf("the README's excerpt is not in config.yaml:\n%s", excerpt)
	}
}
