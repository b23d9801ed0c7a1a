package store

import "context"

// UserLangs keeps the console language each staff user chose. Part of
// Console. The language is a code such as "de"; "" means none chosen
// (the console follows the browser).
type UserLangs interface {
	// UserLang returns the user's language ("" when none), or
	// ErrNotFound when there is no such user.
	UserLang(ctx context.Context, userID string) (string, error)
	// UserLangsByID returns every user's chosen language by user ID;
	// users without a choice are absent.
	UserLangsByID(ctx context.Context) (map[string]string, error)
	// SetUserLang stores the user's language (ErrNotFound) and audits it.
	// Sessions stay as they are.
	SetUserLang(ctx context.Context, userID, lang string, a Audit) error
}
