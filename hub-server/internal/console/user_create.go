package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var userName = regexp.MustCompile(`^[\p{L}\p{N}._@-]{2,64}$`)

// ErrUserInput marks a CreateUser error a person can fix; it wraps a
// *Message (in English as an error), which the users page translates.
var ErrUserInput = errors.New("console: invalid user")

// CreateUser validates and stores a new user with a hashed password. The
// CLI's `user add` and the users page both use it.
func CreateUser(ctx context.Context, st store.Store, name, role, password string, p Params, now time.Time, rnd io.Reader, a store.Audit) error {
	name = strings.TrimSpace(name)
	if !userName.MatchString(name) {
		return fmt.Errorf("%w: %w", ErrUserInput, msg("users.error.name_invalid"))
	}
	if !ValidRole(role) {
		return fmt.Errorf("%w: %w", ErrUserInput, msg("users.error.role_unknown", "roles", strings.Join(Roles, ", ")))
	}
	if err := CheckPasswordRules(password); err != nil {
		return fmt.Errorf("%w: %w", ErrUserInput, err)
	}
	hash, err := HashPassword(password, p)
	if err != nil {
		return err
	}
	id, err := ulid.New(ulid.Timestamp(now), rnd)
	if err != nil {
		return err
	}
	a.Action, a.Subject, a.Detail = "user.create", "user:"+name, "role "+role
	err = st.CreateUser(ctx, store.User{ID: id.String(), Name: name, Role: role, PasswordHash: hash, CreatedAt: now}, a)
	if errors.Is(err, store.ErrUserExists) {
		return fmt.Errorf("%w: %w", ErrUserInput, msg("users.error.name_taken", "name", name))
	}
	return err
}

func (c *Console) userCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, role := r.PostFormValue("name"), r.PostFormValue("role")
	err := CreateUser(ctx, c.st, name, role, r.PostFormValue("password"), c.o.Params, c.o.Now(), c.o.Rand, c.auditEntry(ctx, "", "", ""))
	if errors.Is(err, ErrUserInput) {
		c.showUsers(w, r, http.StatusBadRequest, userListData{Error: userInputMessage(err), Name: name, Role: role})
		return
	} else if err != nil {
		c.serverError(w, r, "user create", err)
		return
	}
	c.redirect(w, r, "/console/users", "user")
}
