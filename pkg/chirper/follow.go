package chirper

import "context"

// UserCounts are the numbers a user object shows about its user.
type UserCounts struct {
	Followers, Following, Chirps int64
}

// FollowFilter selects a page of the users that a user follows, or of
// those who follow them, newest follow first.
type FollowFilter struct {
	Username  string
	Followers bool  // who follows Username, rather than whom Username follows
	BeforeID  int64 // keyset cursor: follows older than this one; 0 for the newest
	Limit     int   // 1 to MaxPageLimit; 0 means DefaultPageLimit
}

// Normalize lower-cases the username and sets the default limit.
func (f *FollowFilter) Normalize() {
	f.Username = NormalizeUsername(f.Username)
	if f.Limit == 0 {
		f.Limit = DefaultPageLimit
	}
}

// Validate reports every broken rule of the filter at once (EINVALID).
func (f *FollowFilter) Validate() error {
	var v validation
	v.check(f.Limit >= 1 && f.Limit <= MaxPageLimit, "limit", "must be 1 to 100")
	v.check(f.BeforeID >= 0, "cursor", "is not valid")
	return v.err()
}

// UserPage is one page of users.
type UserPage struct {
	Users []*User
	// NextBeforeID is the cursor of the next page, 0 on the last page.
	NextBeforeID int64
}

// CheckFollow reports a follow of oneself (EINVALID).
func CheckFollow(followerID, followeeID int64) error {
	if followerID == followeeID {
		return Invalid("username", "you cannot follow yourself")
	}
	return nil
}

// FollowStore keeps who follows whom.
type FollowStore interface {
	// Follow makes the follower follow the user named followee; following
	// someone already followed changes nothing. ENOTFOUND when there is no
	// such user, EINVALID for oneself.
	Follow(ctx context.Context, followerID int64, followee string) error

	// Unfollow stops the follower following the user named followee; not
	// following is no error. ENOTFOUND when there is no such user.
	Unfollow(ctx context.Context, followerID int64, followee string) error

	// ListFollows returns a page of f. ENOTFOUND when there is no such user.
	ListFollows(ctx context.Context, f FollowFilter) (*UserPage, error)

	// FollowingIDs returns the ids of every user that the user follows.
	FollowingIDs(ctx context.Context, userID int64) ([]int64, error)

	// CountUsers returns the counts of the users with the ids (those that
	// exist).
	CountUsers(ctx context.Context, ids []int64) (map[int64]UserCounts, error)
}

// NewUserPage makes a page of at most limit users from a list read with one
// row more than limit; follows are the ids of the follows that listed them,
// the last one being the next page's cursor.
func NewUserPage(users []*User, follows []int64, limit int) *UserPage {
	if len(users) <= limit {
		return &UserPage{Users: users}
	}
	return &UserPage{Users: users[:limit], NextBeforeID: follows[limit-1]}
}
