package telemetryreceiver

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/telemetrybridge/telemetry/payload"
)

// Defaults of the receiver's configuration.
const (
	// DefaultEndpoint listens on the loopback interface only: exposing the
	// receiver to other hosts is a decision the configuration states.
	DefaultEndpoint = "localhost:8418"
	// DefaultPath is the prefix under which clients post; the instance UUID
	// follows it, as in the protocol's example URL.
	DefaultPath = "/v1/update/"
	// DefaultMaxBodySize bounds an update's body, after decompression too:
	// payload.DefaultMaxBodyBytes, the reference server's limit too.
	DefaultMaxBodySize = payload.DefaultMaxBodyBytes
	// DefaultNextUpdate is the next_update the receiver answers with.
	DefaultNextUpdate = time.Hour
	// DefaultRetryAfter is the wait a refused update is told to observe.
	DefaultRetryAfter = 10 * time.Second
)

// Config is the receiver's configuration (the `telemetry` receiver in a
// Collector's configuration file).
type Config struct {
	// ServerConfig is the HTTP server: endpoint, TLS, timeouts and
	// max_request_body_size, the limit of an update's body.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// Path is the prefix of the update URL: clients post to
	// <Path><instance UUID>. It starts and ends with a slash.
	Path string `mapstructure:"path"`

	// Response is the answer to every accepted update.
	Response ResponseConfig `mapstructure:"response"`

	// Instances replaces Response, as a whole, for the instances it names
	// by UUID: to slow one noisy instance down or stop it.
	Instances map[string]ResponseConfig `mapstructure:"instances"`

	// RetryAfter is what a client is told to wait (the Retry-After header
	// of a 503) when the pipeline behind the receiver refuses an update
	// for a reason that may pass, such as a memory limit.
	RetryAfter time.Duration `mapstructure:"retry_after"`

	// Idempotency bounds the window of Idempotency-Key values the receiver
	// remembers, per replica and in memory only.
	Idempotency IdempotencyConfig `mapstructure:"idempotency"`

	// Schedule spreads next_update and refuses instances that report much
	// earlier than they were told.
	Schedule ScheduleConfig `mapstructure:"schedule"`
}

// IdempotencyConfig bounds the keys remembered (payload.Window).
type IdempotencyConfig struct {
	// MaxKeys bounds the accepted keys remembered, the oldest forgotten
	// first; 0 turns the header's handling off.
	MaxKeys int `mapstructure:"max_keys"`
	// MaxAge is how long an accepted key is remembered.
	MaxAge time.Duration `mapstructure:"max_age"`
}

// ScheduleConfig is payload.ScheduleConfig in the configuration.
type ScheduleConfig struct {
	// Jitter spreads next_update uniformly over ±jitter of it (0.1: ±10 %).
	Jitter float64 `mapstructure:"jitter"`
	// EarlyShare is the share of the told interval before which an update
	// is early; 0 refuses none.
	EarlyShare float64 `mapstructure:"early_share"`
	// EarlyAllowance is how many early updates in a row are taken before
	// 429: a restart sends two (the final update, then the first).
	EarlyAllowance int `mapstructure:"early_allowance"`
	// MaxInstances bounds the instances remembered per replica.
	MaxInstances int `mapstructure:"max_instances"`
}

func (sc ScheduleConfig) schedule() payload.ScheduleConfig {
	return payload.ScheduleConfig{Jitter: sc.Jitter, EarlyShare: sc.EarlyShare, EarlyAllowance: sc.EarlyAllowance, MaxInstances: sc.MaxInstances}
}

// ResponseConfig is the directive part of the protocol's Response.
type ResponseConfig struct {
	// NextUpdate is how long the client waits before its next update.
	// Under a second, clients use their default interval (about an hour).
	NextUpdate time.Duration `mapstructure:"next_update"`
	// Stop tells the client to send no more updates.
	Stop bool `mapstructure:"stop"`
	// DisableKeys are keys the client must stop recording and sending.
	DisableKeys []string `mapstructure:"disable_keys"`
	// EnableKeys are keys that the server disabled before and now allows.
	EnableKeys []string `mapstructure:"enable_keys"`
}

func (rc ResponseConfig) response() payload.Response {
	return payload.Response{
		NextUpdate:  rc.NextUpdate,
		Stop:        rc.Stop,
		DisableKeys: rc.DisableKeys,
		EnableKeys:  rc.EnableKeys,
	}
}

func createDefaultConfig() *Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = DefaultEndpoint
	server.MaxRequestBodySize = DefaultMaxBodySize
	return &Config{
		ServerConfig: server,
		Path:         DefaultPath,
		Response:     ResponseConfig{NextUpdate: DefaultNextUpdate},
		RetryAfter:   DefaultRetryAfter,
		Idempotency:  IdempotencyConfig{MaxKeys: payload.DefaultWindowKeys, MaxAge: payload.DefaultWindowAge},
		Schedule: ScheduleConfig{
			Jitter: payload.DefaultJitter, EarlyShare: payload.DefaultEarlyShare,
			EarlyAllowance: payload.DefaultEarlyAllowance, MaxInstances: payload.DefaultScheduleInstances,
		},
	}
}

// Validate reports what in the configuration cannot work, all at once.
func (cfg *Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(cfg.Path, "/") || !strings.HasSuffix(cfg.Path, "/") {
		errs = append(errs, fmt.Errorf("path %q must start and end with \"/\", like %q", cfg.Path, DefaultPath))
	}
	if cfg.RetryAfter < time.Second {
		errs = append(errs, fmt.Errorf("retry_after %v is under the one second that Retry-After can say: use 1s or more", cfg.RetryAfter))
	}
	if cfg.ServerConfig.MaxRequestBodySize < 0 {
		errs = append(errs, fmt.Errorf("max_request_body_size %d is negative", cfg.ServerConfig.MaxRequestBodySize))
	}
	errs = append(errs, cfg.Idempotency.validate(), cfg.Schedule.validate())
	errs = append(errs, cfg.Response.validate("response"))
	for id, rc := range cfg.Instances {
		if u, err := uuid.Parse(id); err != nil || u == uuid.Nil || u.String() != id {
			errs = append(errs, fmt.Errorf("instances: %q is not an instance UUID in its canonical lower-case form", id))
		}
		errs = append(errs, rc.validate("instances."+id))
	}
	return errors.Join(errs...)
}

func (ic IdempotencyConfig) validate() error {
	if ic.MaxKeys < 0 {
		return fmt.Errorf("idempotency.max_keys %d is negative: use 0 to ignore Idempotency-Key", ic.MaxKeys)
	}
	if ic.MaxKeys > 0 && ic.MaxAge <= 0 {
		return fmt.Errorf("idempotency.max_age %v must be positive", ic.MaxAge)
	}
	return nil
}

func (sc ScheduleConfig) validate() error {
	var errs []error
	// Written so that NaN (".nan" in YAML), which every comparison
	// answers false, is refused too.
	if !(sc.Jitter >= 0 && sc.Jitter <= 0.5) {
		errs = append(errs, fmt.Errorf("schedule.jitter %v is outside 0 .. 0.5", sc.Jitter))
	}
	if !(sc.EarlyShare >= 0 && sc.EarlyShare < 1) {
		errs = append(errs, fmt.Errorf("schedule.early_share %v is outside 0 .. 1 (0 refuses no update)", sc.EarlyShare))
	}
	if sc.EarlyAllowance < 0 {
		errs = append(errs, fmt.Errorf("schedule.early_allowance %d is negative", sc.EarlyAllowance))
	}
	if sc.MaxInstances <= 0 {
		errs = append(errs, fmt.Errorf("schedule.max_instances %d must be positive", sc.MaxInstances))
	}
	return errors.Join(errs...)
}

func (rc ResponseConfig) validate(where string) error {
	if rc.NextUpdate < 0 {
		return fmt.Errorf("%s.next_update %v is negative", where, rc.NextUpdate)
	}
	return nil
}
