package sqlstore

import (
	"context"
	"fmt"

	"github.com/mcpsession/mcpsession"
)

// Handles are the sessionless revision's state (MCP 2026-07-28, SEP-2567):
// the methods below mirror the session methods, on the mcp_handles table,
// each row owned by one principal. A handle named with another principal is
// no handle at all: ErrHandleNotFound, nothing revealed, nothing changed.

// createAttempts bounds CreateHandle's retries on a handle already taken.
// Handles carry 130 random bits, so a second attempt is already a marvel.
const createAttempts = 3

// CreateHandle stores state (nil is {}) under a new handle owned by
// principal and returns the handle: mcpsession.NewID's 130 bits from
// crypto/rand, a valid MCP id. State is checked as Create checks metadata.
func (s *Store) CreateHandle(ctx context.Context, principal string, state map[string]any) (string, error) {
	if err := mcpsession.ValidatePrincipal(principal); err != nil {
		return "", err
	}
	doc, err := encodeMetadata(state, s.cfg.maxMetadataBytes)
	if err != nil {
		return "", err
	}
	for range createAttempts {
		h := mcpsession.NewID()
		created, err := s.handles.create(ctx, []any{h, principal}, doc)
		if err != nil {
			return "", err
		}
		if created {
			return h, nil
		}
	}
	return "", fmt.Errorf("sqlstore: create handle: %d fresh handles were all taken; is crypto/rand broken?", createAttempts)
}

// GetHandle returns the state of principal's live handle, in a fresh map
// the caller owns; otherwise an error matching mcpsession.ErrHandleNotFound
// (and ErrNotFound). It never writes, so reading does not keep a handle
// alive.
func (s *Store) GetHandle(ctx context.Context, handle, principal string) (map[string]any, error) {
	key, err := handleKey(handle, principal)
	if err != nil {
		return nil, err
	}
	return s.handles.get(ctx, key)
}

// UpdateHandle merges patch into the handle's state as Update merges
// session metadata, and marks the handle as used now.
func (s *Store) UpdateHandle(ctx context.Context, handle, principal string, patch map[string]any) error {
	key, err := handleKey(handle, principal)
	if err != nil {
		return err
	}
	doc, err := encodeMetadata(patch, s.cfg.maxMetadataBytes)
	if err != nil {
		return err
	}
	return s.handles.update(ctx, key, doc)
}

// ModifyHandle runs a read-modify-write of the handle's state under the
// handle's row lock, as Modify does for sessions (and with the same rule:
// fn must not call the store).
func (s *Store) ModifyHandle(ctx context.Context, handle, principal string, fn func(map[string]any) (map[string]any, error)) error {
	key, err := handleKey(handle, principal)
	if err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: ModifyHandle with a nil function", mcpsession.ErrInvalidArgument)
	}
	return s.handles.modify(ctx, key, fn)
}

// TouchHandle marks principal's live handle as used now, which slides its
// idle expiry.
func (s *Store) TouchHandle(ctx context.Context, handle, principal string) error {
	key, err := handleKey(handle, principal)
	if err != nil {
		return err
	}
	return s.handles.touch(ctx, key)
}

// DeleteHandle removes the handle if principal owns it. It returns nil
// whether or not it did, so it reveals nothing about other principals'
// handles.
func (s *Store) DeleteHandle(ctx context.Context, handle, principal string) error {
	key, err := handleKey(handle, principal)
	if err != nil {
		return err
	}
	return s.handles.delete(ctx, key)
}

// handleKey checks a handle and its principal and returns them as a key.
// A handle the store could never have minted is ErrInvalidID.
func handleKey(handle, principal string) ([]any, error) {
	if err := mcpsession.ValidateID(handle); err != nil {
		return nil, err
	}
	if err := mcpsession.ValidatePrincipal(principal); err != nil {
		return nil, err
	}
	return []any{handle, principal}, nil
}
