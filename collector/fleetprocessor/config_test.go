package fleetprocessor

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
)

func TestConfigValidate(t *testing.T) {
	if err := componenttest.CheckConfigStruct(defaultConfig()); err != nil {
		t.Fatal(err)
	}
	if err := defaultConfig().Validate(); err == nil || !strings.Contains(err.Error(), "replica must be set") {
		t.Errorf("the default config without a replica: %v", err)
	}
	cases := map[string]func(*Config){
		"window":          func(c *Config) { c.Window = 0 },
		"export_interval": func(c *Config) { c.ExportInterval = 3 * time.Hour },
		"min_instances":   func(c *Config) { c.MinInstances = 0 },
		"sample_rate":     func(c *Config) { c.SampleRate = 1.5 },
		"metric_prefix":   func(c *Config) { c.MetricPrefix = "" },
		"max_series":      func(c *Config) { c.MaxSeries = 0 },
		"buckets":         func(c *Config) { c.Buckets = []float64{1, 1} },
		"idempotency":     func(c *Config) { c.Idempotency.MaxAge = 0 },
	}
	for name, breakIt := range cases {
		c := testConfig()
		breakIt(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := testConfig().Validate(); err != nil {
		t.Errorf("a good config: %v", err)
	}
}

// The settings of a durable replica read as replica.yaml writes them.
func TestStorageAndIdempotencySettingsRead(t *testing.T) {
	cfg := defaultConfig()
	err := confmap.NewFromStringMap(map[string]any{
		"storage":     "file_storage/fleet",
		"idempotency": map[string]any{"max_keys": 500, "max_age": "1h"},
	}).Unmarshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := component.MustNewIDWithName("file_storage", "fleet")
	if cfg.Storage == nil || *cfg.Storage != want || cfg.Idempotency != (IdempotencyConfig{MaxKeys: 500, MaxAge: time.Hour}) {
		t.Errorf("storage %v, idempotency %+v", cfg.Storage, cfg.Idempotency)
	}
	if defaultConfig().Storage != nil {
		t.Error("storage is set by default: the state would need an extension nobody configured")
	}
}
