// Package architecture holds no code: its tests keep the module's shape as
// docs/design.md describes it. docs/design.md names every package and nothing else;
// no package imports one above it (the layering rules below the table in
// docs/design.md); cmd/clinicpro and internal/cli build no service objects, which
// internal/agent/daemon composes; and nothing points outside the repository.
package architecture
