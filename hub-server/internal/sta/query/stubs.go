package query

import "time"

func (l Limits) withDefaults() Limits { return l }
func entitySetNames() []string        { return nil }
func propertyNames(string) []string   { return nil }
func navigations(string) []Navigation { return nil }
func parseOptions(string, map[string][]string, Limits) (Options, error) {
	return Options{}, errNotImplemented
}
func parseFilterOption(string, string, string, Limits) (*Node, error) { return nil, errNotImplemented }
func compile(Dialect, Target, Options, time.Time, bool) (Statement, error) {
	return Statement{}, errNotImplemented
}

type scanner struct{}

func (s Statement) scanRow(func(dest ...any) error) (Row, error) { return Row{}, errNotImplemented }
