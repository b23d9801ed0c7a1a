// Package fleet is the hub's fleet management logic between the terminal
// API and the store: heartbeats written in groups by one batcher, the
// layered configuration (merge rule, versions, a cache), and the alert
// evaluator with its webhook notifier.
package fleet
