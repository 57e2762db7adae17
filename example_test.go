package mcpsession_test

import (
	"errors"
	"fmt"

	"github.com/mcpsession/mcpsession"
)

func ExampleNewID() {
	id := mcpsession.NewID()
	fmt.Println(len(id), mcpsession.ValidateID(id))
	// Output:
	// 26 <nil>
}

func ExampleValidateID() {
	for _, id := range []string{"0190b6f4-7c3a-7d3e-9b1a-5f4c2e8a9d10", "has space", ""} {
		err := mcpsession.ValidateID(id)
		fmt.Println(errors.Is(err, mcpsession.ErrInvalidID))
	}
	// Output:
	// false
	// true
	// true
}
