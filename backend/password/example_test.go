package password_test

import (
	"fmt"

	"shoplogin/backend/password"
)

// Sign-up checks the policy and stores the hash; sign-in verifies it, rehashing when
// the parameters have changed, and verifies a dummy hash when the email is unknown.
func Example() {
	if err := password.Check("iloveyou"); err != nil {
		fmt.Println(err)
	}

	h := password.NewHasher(password.DefaultParams(), nil)
	phc, err := h.Hash("correct horse battery staple")
	if err != nil {
		panic(err)
	}
	ok, needsRehash, err := h.Verify(phc, "correct horse battery staple")
	fmt.Println(ok, needsRehash, err)
	ok, _, _ = h.Verify(phc, "Correct horse battery staple")
	fmt.Println(ok)

	h.VerifyDummy("whatever an unknown account typed")
	// Output:
	// weak_password: This password is on a list of commonly used passwords; choose another.
	// true false <nil>
	// false
}
