package bridge

// EvictionGrace lets the external tests wait until evicted figures may be
// let go.
const EvictionGrace = defaultEvictionGrace
