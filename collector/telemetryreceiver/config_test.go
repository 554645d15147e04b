package telemetryreceiver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

func TestDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if cfg.ServerConfig.NetAddr.Endpoint != "localhost:8418" || cfg.Path != "/v1/update/" ||
		cfg.ServerConfig.MaxRequestBodySize != 8<<20 || cfg.Response.NextUpdate != time.Hour || cfg.RetryAfter != 10*time.Second {
		t.Errorf("defaults differ from the documented ones: %+v", cfg)
	}
	if err := confmap.Validate(cfg); err != nil {
		t.Errorf("the default configuration does not validate: %v", err)
	}
}

func TestConfigFromYAMLMap(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{
		"endpoint":    "0.0.0.0:9000",
		"path":        "/telemetry/",
		"retry_after": "30s",
		"response":    map[string]any{"next_update": "2h", "disable_keys": []any{"user_agent"}},
		"instances": map[string]any{
			"6a0f5f7e-7c1b-4c55-9b55-3f6f3a5e2b11": map[string]any{"stop": true},
		},
	})
	cfg := createDefaultConfig()
	if err := conf.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := confmap.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	a := newAnswers(cfg)
	if got := a.forInstance(testID); !got.Stop || got.NextUpdate != 0 {
		t.Errorf("answer for the configured instance %+v, want stop only", got)
	}
	if got := a.all; got.NextUpdate != 2*time.Hour || len(got.DisableKeys) != 1 || got.DisableKeys[0] != "user_agent" {
		t.Errorf("answer for the others %+v", got)
	}
	if cfg.ServerConfig.NetAddr.Endpoint != "0.0.0.0:9000" || cfg.Path != "/telemetry/" || cfg.RetryAfter != 30*time.Second {
		t.Errorf("config %+v", cfg)
	}
}

func TestInvalidConfigSaysWhatToFix(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Path = "v1/update"
	cfg.RetryAfter = 100 * time.Millisecond
	cfg.Response.NextUpdate = -time.Second
	cfg.Instances = map[string]ResponseConfig{"not-a-uuid": {}, "6A0F5F7E-7C1B-4C55-9B55-3F6F3A5E2B11": {}}
	err := confmap.Validate(cfg)
	if err == nil {
		t.Fatal("an invalid configuration validated")
	}
	for _, says := range []string{`path "v1/update"`, "retry_after", "response.next_update", `"not-a-uuid"`, "lower-case"} {
		if !strings.Contains(err.Error(), says) {
			t.Errorf("error %q does not mention %s", err, says)
		}
	}
}

func TestIdempotencyAndScheduleConfig(t *testing.T) {
	def := createDefaultConfig()
	if def.Idempotency.MaxKeys != 100_000 || def.Idempotency.MaxAge != 24*time.Hour || def.Schedule.Jitter != 0.1 ||
		def.Schedule.EarlyShare != 0.5 || def.Schedule.EarlyAllowance != 2 || def.Schedule.MaxInstances != 100_000 {
		t.Errorf("defaults differ from the documented ones: %+v %+v", def.Idempotency, def.Schedule)
	}
	conf := confmap.NewFromStringMap(map[string]any{
		"idempotency": map[string]any{"max_keys": 5000, "max_age": "2h"},
		"schedule":    map[string]any{"jitter": 0.2, "early_share": 0, "early_allowance": 3, "max_instances": 10},
	})
	cfg := createDefaultConfig()
	if err := conf.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := confmap.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Idempotency.MaxKeys != 5000 || cfg.Idempotency.MaxAge != 2*time.Hour || cfg.Schedule.Jitter != 0.2 ||
		cfg.Schedule.EarlyShare != 0 || cfg.Schedule.EarlyAllowance != 3 || cfg.Schedule.MaxInstances != 10 {
		t.Errorf("read %+v %+v", cfg.Idempotency, cfg.Schedule)
	}
	retrieved, err := confmap.NewRetrievedFromYAML([]byte("schedule: {jitter: .nan, early_share: .nan}"))
	if err != nil {
		t.Fatal(err)
	}
	nan, err := retrieved.AsConf()
	if err != nil {
		t.Fatal(err)
	}
	if err := nan.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := confmap.Validate(cfg); err == nil || !strings.Contains(err.Error(), "jitter") || !strings.Contains(err.Error(), "early_share") {
		t.Errorf("a NaN jitter and early_share (every next_update spread to 1 s): %v, want both refused", err)
	}
	cfg.Idempotency = IdempotencyConfig{MaxKeys: -1}
	cfg.Schedule = ScheduleConfig{Jitter: 0.9, EarlyShare: 1, EarlyAllowance: -1}
	err = confmap.Validate(cfg)
	for _, says := range []string{"max_keys", "jitter", "early_share", "early_allowance", "max_instances"} {
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("error %v does not mention %s", err, says)
		}
	}
}

// TestSampleConfigStatesTheDefaults reads the receiver's section of the
// sample config.yaml into an empty Config: every setting it lists must
// be there, at its default.
func TestSampleConfigStatesTheDefaults(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	retrieved, err := confmap.NewRetrievedFromYAML(sample)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := retrieved.AsConf()
	if err != nil {
		t.Fatal(err)
	}
	section, err := conf.Sub("receivers::telemetry")
	if err != nil {
		t.Fatal(err)
	}
	var got Config
	if err := section.Unmarshal(&got); err != nil {
		t.Fatal(err)
	}
	def := createDefaultConfig()
	if got.Idempotency != def.Idempotency || got.Schedule != def.Schedule {
		t.Errorf("config.yaml states idempotency %+v and schedule %+v; the defaults are %+v and %+v",
			got.Idempotency, got.Schedule, def.Idempotency, def.Schedule)
	}
	if got.Path != def.Path || got.RetryAfter != def.RetryAfter || got.Response.NextUpdate != def.Response.NextUpdate ||
		got.ServerConfig.MaxRequestBodySize != def.ServerConfig.MaxRequestBodySize {
		t.Errorf("config.yaml states %+v, not the defaults %+v", got, def)
	}
}
