package updater

// SetAfterStep lets the external tests stop the updater after a step, as
// a kill -9 would.
func SetAfterStep(cfg *Config, f func(step string) error) { cfg.afterStep = f }
