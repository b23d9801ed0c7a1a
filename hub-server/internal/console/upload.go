package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"time"
)

// A release artifact is far larger than any form (maxForm), so its route
// is an upload (routes.go: uploads): guard bounds the body and checks the
// CSRF token in the first part before the handler streams the rest, the
// artifact into a temporary file rather than memory.

// uploadTimeout is how long an upload may take to arrive: the server's
// read timeout (2 minutes) suits forms, not a release over a slow line.
const uploadTimeout = 30 * time.Minute

type uploadKey struct{}

// uploadFrom is the multipart body guard opened for the handler.
func uploadFrom(r *http.Request) *multipart.Reader {
	mr, _ := r.Context().Value(uploadKey{}).(*multipart.Reader)
	return mr
}

// openUpload opens r's multipart body and checks that its first part is
// the session's CSRF token and that the browser sent it from this site.
func (c *Console) openUpload(w http.ResponseWriter, r *http.Request, csrf string) (*multipart.Reader, bool) {
	if !sameOrigin(r) {
		return nil, false
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, false
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != csrfField {
		return nil, false
	}
	token, err := io.ReadAll(io.LimitReader(part, 128))
	if err != nil || subtle.ConstantTimeCompare(token, []byte(csrf)) != 1 {
		return nil, false
	}
	// Only a request that passed the token gets the longer deadline.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(c.o.Now().Add(uploadTimeout))
	_ = rc.SetWriteDeadline(c.o.Now().Add(uploadTimeout + time.Minute))
	return mr, true
}

// errPartTooLarge: a part of an upload is over its bound.
var errPartTooLarge = errors.New("console: upload part too large")

// readSmallPart reads a part of at most limit bytes into memory.
func readSmallPart(p *multipart.Part, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p, limit+1))
	if err != nil {
		return nil, fmt.Errorf("console: upload %s: %w", p.FormName(), err)
	}
	if int64(len(b)) > limit {
		return nil, errPartTooLarge
	}
	return b, nil
}

// spooled is an uploaded file kept on disk, with its size and SHA-256.
type spooled struct {
	path   string
	size   int64
	sha256 []byte
}

// spoolPart copies a part of at most limit bytes into a new temporary
// file in dir, hashing it on the way. The caller removes the file.
func spoolPart(p *multipart.Part, dir string, limit int64) (*spooled, error) {
	f, err := os.CreateTemp(dir, "quartierhub-upload-*")
	if err != nil {
		return nil, fmt.Errorf("console: spool upload: %w", err)
	}
	s := &spooled{path: f.Name()}
	var h hash.Hash = sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(p, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errPartTooLarge
	}
	if err != nil {
		os.Remove(s.path)
		if errors.Is(err, errPartTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("console: spool upload: %w", err)
	}
	s.size, s.sha256 = n, h.Sum(nil)
	return s, nil
}
