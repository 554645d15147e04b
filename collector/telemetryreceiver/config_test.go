package telemetryreceiver

import (
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
