package telemetryreceiver

import (
	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

// answers holds the Response for each instance, built once from the
// configuration: answering an update costs a map lookup.
type answers struct {
	all         payload.Response
	perInstance map[uuid.UUID]payload.Response
}

func newAnswers(cfg *Config) answers {
	a := answers{all: cfg.Response.response(), perInstance: make(map[uuid.UUID]payload.Response, len(cfg.Instances))}
	for id, rc := range cfg.Instances {
		if u, err := uuid.Parse(id); err == nil { // Validate has reported the others
			a.perInstance[u] = rc.response()
		}
	}
	return a
}

func (a answers) forInstance(id uuid.UUID) payload.Response {
	if resp, ok := a.perInstance[id]; ok {
		return resp
	}
	return a.all
}
