package fleetprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
)

// Type is the processor's name in a Collector configuration.
var Type = component.MustNewType("fleet")

// Stability is the processor's stability for metrics.
const Stability = component.StabilityLevelAlpha

// NewFactory returns the factory of the fleet processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(Type, func() component.Config { return defaultConfig() },
		processor.WithMetrics(createMetrics, Stability))
}

func createMetrics(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("fleet processor: configuration of type %T", cfg)
	}
	return newProcessor(c, set, next), nil
}
