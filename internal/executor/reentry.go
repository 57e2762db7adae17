package executor

import (
	"fmt"
	"reflect"
	"runtime"
	"sync/atomic"

	"github.com/mcpsession/mcpsession"
)

// A store call made from inside a Modify function could wait for the lock
// that Modify holds until the function returns: on SQLite the database's
// one write lock (and the store's write slot; an in-memory database blocks
// even readers behind a writer), on Postgres the row lock of the same
// session. Nothing could break that wait but the caller's deadline, so
// every call from inside a Modify function is refused at once, on both
// dialects alike, whatever session it names.
//
// A call knows it is inside a Modify function when RunModifyFn is on its
// goroutine's stack. Looking costs a stack walk (about a microsecond), so
// it is done only while some Modify function is running in the process.

// modifyFns counts the Modify functions running in this process, in every
// Store.
var modifyFns atomic.Int64

// RunModifyFn calls fn; its frame marks the goroutine as being inside a
// Modify function. It must not be inlined, or the mark would vanish.
//
//go:noinline
func RunModifyFn(fn func(map[string]any) (map[string]any, error), m map[string]any) (map[string]any, error) {
	modifyFns.Add(1)
	defer modifyFns.Add(-1)
	return fn(m)
}

var runModifyFnEntry = reflect.ValueOf(RunModifyFn).Pointer()

// CheckNotInModify returns an error matching mcpsession.ErrCallInModify
// when called, directly or not, from inside a Modify function on this
// goroutine.
func CheckNotInModify(op string) error {
	if modifyFns.Load() == 0 {
		return nil
	}
	var pcs [64]uintptr
	for skip := 2; ; skip += len(pcs) {
		n := runtime.Callers(skip, pcs[:])
		for _, pc := range pcs[:n] {
			// pc is a return address; pc-1 is inside the calling
			// function.
			if f := runtime.FuncForPC(pc - 1); f != nil && f.Entry() == runModifyFnEntry {
				return fmt.Errorf("sqlstore: %s: %w", op, mcpsession.ErrCallInModify)
			}
		}
		if n < len(pcs) {
			return nil
		}
	}
}
