package dialects_test

import (
	"fmt"

	"github.com/mcpsession/mcpsession/dialects"
)

// A DSN for a log line or an error, its passwords hidden.
func ExampleRedact() {
	fmt.Println(dialects.Redact("postgres://app:s3cret@db:5432/app?sslpassword=k3y"))
	fmt.Println(dialects.Redact("host=db user=app password=s3cret"))
	// Output:
	// postgres://app:xxxxx@db:5432/app?sslpassword=xxxxx
	// host=db user=app password=xxxxx
}
