package telemetryreceiver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/telemetrybridge/telemetry/payload"
)

// dataFormat names the protocol's payload in the Collector's receiver
// metrics.
const dataFormat = "telemetry_json"

// telemetryReceiver serves the update endpoint and hands each accepted
// update to the next consumer.
type telemetryReceiver struct {
	cfg      *Config
	settings receiver.Settings
	next     consumer.Metrics
	answers  answers
	limits   payload.Limits
	window   *payload.Window // nil: Idempotency-Key is ignored
	schedule *payload.Schedule
	decoding chan struct{}             // a slot per update being decoded (readMetrics)
	obs      *receiverhelper.ObsReport // the Collector's own receiver metrics

	server   *http.Server
	addr     net.Addr // where Start listens, for tests on port 0
	shutdown sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Metrics) (*telemetryReceiver, error) {
	if next == nil {
		return nil, errors.New("telemetry receiver: no next consumer")
	}
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, fmt.Errorf("telemetry receiver: %w", err)
	}
	r := &telemetryReceiver{cfg: cfg, settings: set, next: next, answers: newAnswers(cfg), obs: obs,
		limits: payload.DefaultLimits(), schedule: payload.NewSchedule(cfg.Schedule.schedule()),
		decoding: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if max := cfg.ServerConfig.MaxRequestBodySize; max > 0 {
		r.limits.MaxBodyBytes = max
	}
	if cfg.Idempotency.MaxKeys > 0 {
		r.window = payload.NewWindow(payload.WindowConfig{MaxKeys: cfg.Idempotency.MaxKeys, MaxAge: cfg.Idempotency.MaxAge})
	}
	return r, nil
}

// Start listens on the configured endpoint and serves updates until
// Shutdown.
func (r *telemetryReceiver) Start(ctx context.Context, host component.Host) error {
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("telemetry receiver: listen on %q: %w", r.cfg.ServerConfig.NetAddr.Endpoint, err)
	}
	r.server, err = r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, r,
		confighttp.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, msg string, status int) {
			payload.WriteError(w, status, errors.New(msg))
		}))
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("telemetry receiver: %w", err)
	}
	r.addr = ln.Addr()
	r.settings.Logger.Info("accepting telemetry updates",
		zap.String("endpoint", ln.Addr().String()), zap.String("path", r.cfg.Path))
	r.shutdown.Go(func() {
		if err := r.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

// Shutdown stops accepting updates and waits, within ctx, for those in
// progress to be answered.
func (r *telemetryReceiver) Shutdown(ctx context.Context) error {
	if r.server == nil {
		return nil
	}
	err := r.server.Shutdown(ctx)
	r.shutdown.Wait()
	return err
}

// ServeHTTP takes one update: it checks the request, converts the payload,
// and acknowledges it only once the next consumer has accepted the data.
// A repeat of an update accepted before (its Idempotency-Key) gets the
// answer it got then, and its data is not passed on again.
func (r *telemetryReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	id, status, err := payload.CheckRequest(req, r.cfg.Path)
	if err != nil {
		payload.WriteError(w, status, err)
		return
	}
	md, err := r.readMetrics(req, id)
	if err != nil {
		r.refuseBody(w, err)
		return
	}
	claim, proceed := r.window.Begin(w, req, id)
	if !proceed {
		return // answered: the stored answer, or 409 while the first is in flight
	}
	defer claim.Release() // forgets the key unless the data was taken
	if wait := r.schedule.TooEarly(id); wait > 0 {
		payload.WriteTooEarly(w, wait)
		return
	}
	// Counted before the hand-over: the data then belongs to the pipeline.
	if points := md.DataPointCount(); points > 0 {
		ctx := r.obs.StartMetricsOp(withUpdateKey(req.Context(), req))
		err := r.next.ConsumeMetrics(ctx, md)
		r.obs.EndMetricsOp(ctx, dataFormat, points, err)
		if err != nil {
			r.refuse(w, err)
			return
		}
	}
	resp := r.answers.forInstance(id)
	resp.NextUpdate = r.schedule.Spread(resp.NextUpdate)
	r.schedule.Accepted(id, resp.NextUpdate)
	claim.Answer(w, http.StatusOK, resp)
}

// withUpdateKey hands the update's Idempotency-Key on to the pipeline as
// client metadata (the Collector's way of carrying request headers), so
// that a stateful processor can recognise a repeat after this receiver's
// own window is gone, as after a restart (collector/fleetprocessor does).
// Metadata that confighttp already put there is kept.
func withUpdateKey(ctx context.Context, req *http.Request) context.Context {
	key := req.Header.Values(payload.HeaderIdempotencyKey)
	if len(key) == 0 {
		return ctx
	}
	info := client.FromContext(ctx)
	md := map[string][]string{payload.HeaderIdempotencyKey: key}
	for k := range info.Metadata.Keys() {
		if !strings.EqualFold(k, payload.HeaderIdempotencyKey) {
			md[k] = info.Metadata.Get(k)
		}
	}
	info.Metadata = client.NewMetadata(md)
	return client.NewContext(ctx, info)
}

// refuseBody answers a body that cannot be taken as it is.
func (r *telemetryReceiver) refuseBody(w http.ResponseWriter, err error) {
	switch tooLarge := new(http.MaxBytesError); {
	case errors.As(err, &tooLarge):
		payload.WriteError(w, http.StatusRequestEntityTooLarge,
			fmt.Errorf("the update is larger than the receiver's limit of %d bytes", tooLarge.Limit))
	case errors.Is(err, errTooLarge):
		payload.WriteError(w, http.StatusRequestEntityTooLarge, err)
	case errors.Is(err, errGone):
		payload.WriteError(w, http.StatusServiceUnavailable, err)
	default:
		payload.WriteError(w, http.StatusBadRequest, err)
	}
}

// refuse answers an update that the pipeline did not take. Nothing of it
// was accepted, so the client keeps its figures: a lasting refusal gets
// 400, a passing one (a memory limit, a full queue) 503 with Retry-After,
// after which clients send the same update again.
func (r *telemetryReceiver) refuse(w http.ResponseWriter, err error) {
	if consumererror.IsPermanent(err) {
		r.settings.Logger.Warn("the pipeline rejected a telemetry update", zap.Error(err))
		payload.WriteError(w, http.StatusBadRequest, fmt.Errorf("the update was rejected: %w", err))
		return
	}
	r.settings.Logger.Debug("the pipeline refused a telemetry update for now", zap.Error(err))
	seconds := int((r.cfg.RetryAfter + 999_999_999) / 1_000_000_000) // whole seconds, rounded up
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	payload.WriteError(w, http.StatusServiceUnavailable,
		fmt.Errorf("the update could not be taken now: send it again in %d s (%v)", seconds, err))
}
