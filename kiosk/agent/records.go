package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

// ClassOf is the priority class of a record type: sensor_* are sensor
// readings, device_* and terminal_* are device events, and everything else
// is something a resident did and is never evicted.
func ClassOf(typ string) outbox.Class {
	switch {
	case strings.HasPrefix(typ, "sensor_"):
		return outbox.ClassSensor
	case strings.HasPrefix(typ, "device_"), strings.HasPrefix(typ, "terminal_"):
		return outbox.ClassEvent
	}
	return outbox.ClassResident
}

// ParseClass parses a class name; "" means derive it from the type.
func ParseClass(name, typ string) (outbox.Class, error) {
	if name == "" {
		return ClassOf(typ), nil
	}
	for _, c := range outbox.Classes {
		if c.String() == name {
			return c, nil
		}
	}
	return 0, userr.New(fmt.Sprintf("unknown class %q (resident, event or sensor)", name), localapi.ErrInvalid)
}

// SubmitTo validates req by the hub's rules (api.ValidatePayload) and
// stores it durably in ob. A record the hub would refuse is refused here,
// with the reason, before anyone is told it is stored.
func SubmitTo(ctx context.Context, ob *outbox.Outbox, req localapi.SubmitRequest) (outbox.Record, error) {
	return storeRecord(ctx, ob, req.Type, req.Class, req.Payload)
}

// storeRecord is SubmitTo for a record of type typ in class className
// ("": by its type, ClassOf) with payload as its JSON.
func storeRecord(ctx context.Context, ob *outbox.Outbox, typ, className string, payload any) (outbox.Record, error) {
	class, err := ParseClass(className, typ)
	if err != nil {
		return outbox.Record{}, err
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return outbox.Record{}, userr.New("the payload is not valid JSON", localapi.ErrInvalid)
	}
	if err := api.ValidatePayload(typ, class.String(), body); err != nil {
		return outbox.Record{}, userr.New("the record is not valid: "+err.Error(), errors.Join(localapi.ErrInvalid, outbox.ErrInvalid))
	}
	rec, err := ob.Submit(ctx, typ, class, body)
	switch {
	case err == nil:
		return rec, nil
	case errors.Is(err, outbox.ErrInvalid):
		return outbox.Record{}, userr.New(userr.Message(err, "the record is not valid: "+err.Error()), errors.Join(localapi.ErrInvalid, err))
	case errors.Is(err, outbox.ErrFull):
		return outbox.Record{}, userr.New(userr.Message(err, "storage is full"), errors.Join(localapi.ErrFull, err))
	case errors.Is(err, outbox.ErrClosed):
		return outbox.Record{}, userr.New("the agent is shutting down", errors.Join(localapi.ErrUnavailable, err))
	}
	var ue *userr.Error
	if errors.As(err, &ue) {
		// Storage failures for resident data come as user errors.
		return outbox.Record{}, userr.New(ue.Msg, errors.Join(localapi.ErrFull, err))
	}
	return outbox.Record{}, fmt.Errorf("agent: submit: %w", err)
}
