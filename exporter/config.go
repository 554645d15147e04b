package exporter

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/exporter/internal/spool"
)

// DefaultEndpoint is the base URL used when WithEndpoint is not given. It is
// a placeholder under the reserved .invalid domain, so that a program that
// forgets to configure a server sends nothing anywhere: set your server's
// update URL with WithEndpoint.
const DefaultEndpoint = "https://telemetry.invalid/v1/update/"

// DefaultRequestTimeout bounds each HTTP attempt when WithRequestTimeout is
// not given.
const DefaultRequestTimeout = 30 * time.Second

// defaultInterval is the wait before the next update when the server gives
// none (or less than minNextUpdate): one hour, plus up to a minute of jitter
// so that a fleet started together does not report in lockstep.
const (
	defaultInterval = time.Hour
	defaultJitter   = time.Minute
	minNextUpdate   = time.Second
)

func defaultNextUpdate() time.Duration {
	return defaultInterval + rand.N(defaultJitter)
}

type config struct {
	endpoint       string
	instanceID     uuid.UUID
	client         *http.Client
	disabledKeys   []string
	retry          RetryConfig
	requestTimeout time.Duration
	runtimeFigures bool
	metricTypes    bool
	writer         io.Writer
	errorHandler   otel.ErrorHandler
	compress       bool
	spoolDir       string
	spoolLimit     int
}

func newConfig(opts []Option) (config, error) {
	cfg := config{
		endpoint:       DefaultEndpoint,
		retry:          DefaultRetry(),
		requestTimeout: DefaultRequestTimeout,
		runtimeFigures: true,
		spoolLimit:     DefaultSpoolLimit,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.instanceID == uuid.Nil {
		return cfg, errors.New("telemetry exporter: no instance ID: pass WithInstanceID with a non-zero UUID, generated once and stored by the program")
	}
	u, err := url.Parse(cfg.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("telemetry exporter: endpoint %q is not an http(s) URL: pass a base URL such as %q to WithEndpoint", cfg.endpoint, DefaultEndpoint)
	}
	if !strings.HasSuffix(cfg.endpoint, "/") {
		cfg.endpoint += "/"
	}
	if cfg.client == nil {
		cfg.client = &http.Client{CheckRedirect: sameHostRedirects}
	}
	if cfg.requestTimeout <= 0 {
		cfg.requestTimeout = DefaultRequestTimeout
	}
	return cfg, nil
}

// sameHostRedirects keeps the payload from following a redirect to another
// host.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("too many redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("refusing redirect to another host (%s)", req.URL.Host)
	}
	return nil
}

// Option configures an Exporter.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEndpoint sets the base URL of the telemetry server's update endpoint.
// The instance ID is appended to it to form each request's URL; a missing
// trailing slash is added.
func WithEndpoint(baseURL string) Option {
	return optionFunc(func(c *config) { c.endpoint = baseURL })
}

// WithInstanceID sets the UUID that identifies this instance. It is
// required: New fails without it or with the all-zero UUID.
func WithInstanceID(id uuid.UUID) Option {
	return optionFunc(func(c *config) { c.instanceID = id })
}

// WithHTTPClient sets the client used to send updates. The default client
// does not follow redirects to other hosts.
func WithHTTPClient(client *http.Client) Option {
	return optionFunc(func(c *config) { c.client = client })
}

// WithDisabledKeys disables keys for the exporter's whole life. Each entry
// may be a comma-separated list; keys are trimmed of spaces and empty ones
// are ignored. A key also disables every key that starts with it followed
// by a colon.
func WithDisabledKeys(keys ...string) Option {
	return optionFunc(func(c *config) { c.disabledKeys = append(c.disabledKeys, keys...) })
}

// WithRetry sets how an update whose attempt failed is retried within one
// send; the default is DefaultRetry.
func WithRetry(rc RetryConfig) Option {
	return optionFunc(func(c *config) { c.retry = rc })
}

// WithRequestTimeout bounds each HTTP attempt. The default is
// DefaultRequestTimeout.
func WithRequestTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.requestTimeout = d })
}

// WithRuntimeFigures controls whether each update carries the emit-time
// "goroutines" and "memory" figures of the protocol. It is on by default.
func WithRuntimeFigures(enabled bool) Option {
	return optionFunc(func(c *config) { c.runtimeFigures = enabled })
}

// WithMetricTypes controls whether each update also states, in its
// "metric_types" member, the OpenTelemetry type of the keys whose JSON
// does not show it (a gauge reading, a monotonic counter, a whole float),
// so that a server can rebuild the metrics exactly: turn it on when the
// server is this project's Collector receiver. It is off by default, as
// the member is an addition to the documented payload; servers that
// decode with encoding/json ignore it.
func WithMetricTypes(enabled bool) Option {
	return optionFunc(func(c *config) { c.metricTypes = enabled })
}

// WithWriter switches the exporter to local mode: each payload is written
// to w as indented JSON instead of being sent. With no server to answer,
// updates follow the default schedule. Use it to see what a program would
// report.
func WithWriter(w io.Writer) Option {
	return optionFunc(func(c *config) { c.writer = w })
}

// WithErrorHandler gives the exporter its own handler for problems no
// caller receives (failed scheduled updates, values that cannot be
// encoded), instead of OTel's global one. To log with slog:
//
//	exporter.WithErrorHandler(otel.ErrorHandlerFunc(func(err error) {
//		logger.Warn("telemetry", "err", err)
//	}))
func WithErrorHandler(h otel.ErrorHandler) Option {
	return optionFunc(func(c *config) { c.errorHandler = h })
}

// WithCompression gzips each payload (Content-Encoding: gzip). It is off by
// default, since a server written for the original client may not accept
// it; turn it on for servers that do: a payload of many keys shrinks
// several times.
func WithCompression(enabled bool) Option {
	return optionFunc(func(c *config) { c.compress = enabled })
}

// WithSpool keeps the figures the exporter could not deliver in files under
// dir, so that they outlive the process: an update whose attempts all
// failed, and every update while it is being sent, the final one included.
// It also gives recorders a journal (Journal) in which what they record
// outlives the process however it ends. The next exporter that uses dir
// with the same instance ID sends all of it in its first update. The
// server's disable_keys and stop are kept there too, and obeyed after a
// restart.
//
// Each instance has its own directory, dir/instance-<InstanceHash>
// (SpoolInstanceDir); both are made with mode 0700 if missing, and a
// directory that another user owns or may write is refused (reported; the
// figures then stay in memory). Files are 0600, written atomically, at
// most WithSpoolLimit bytes each, and removed once delivered; "stop", 410
// and 451 remove them all. Removing the directory forgets everything, the
// server's directives included. Without WithSpool nothing is written and
// undelivered figures live in memory only.
func WithSpool(dir string) Option {
	return optionFunc(func(c *config) { c.spoolDir = dir })
}

// WithSpoolLimit bounds each spool file; the default is DefaultSpoolLimit.
// Keys that do not fit are left out, whole, and counted as dropped items.
func WithSpoolLimit(bytes int) Option {
	return optionFunc(func(c *config) {
		if bytes > 0 {
			c.spoolLimit = bytes
		}
	})
}

// DefaultSpoolLimit bounds each spool file when WithSpoolLimit is not
// given: MaxUpdateBytes, as a spool file holds what one update sends.
const DefaultSpoolLimit = MaxUpdateBytes

// MaxUpdateBytes bounds the body of an update: 7 MiB, below the 8 MiB that
// the Collector receiver (and the Collector's HTTP servers) take by
// default. An update at the item limit of counting-set hashes takes about
// 4 MiB. Keys beyond it are left out of the update and counted under
// payload.KeyDropped.
const MaxUpdateBytes = convert.MaxUpdateBytes

// InstanceHash names an instance in file and directory names without
// revealing its ID, which the server takes as a credential: the first 16
// hex digits of the ID's SHA-256.
func InstanceHash(id uuid.UUID) string { return spool.InstanceHash(id) }

// SpoolInstanceDir is the directory under a spool directory (WithSpool)
// where the exporter of instance id keeps its files: instance-<hash>, the
// hash of InstanceHash. Removing it forgets the instance's spooled figures
// and the server's directives for it, and nothing of other instances.
func SpoolInstanceDir(dir string, id uuid.UUID) string { return spool.InstanceDir(dir, id) }
