package cognitolocal

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// User is a user to create in the pool.
type User struct {
	Email    string // the sign-in name (the pool signs in by email, as the deployed one)
	Password string
	Tier     string // custom:tier; empty leaves it unset (free)
	TeamID   string // custom:teamId; empty leaves it unset
}

// Pool is a user pool with the console's app client.
type Pool struct {
	ID       string
	ClientID string
	Issuer   string
}

// PoolSpec describes the pool to set up.
type PoolSpec struct {
	Name   string // found by name when it exists (a persistent Dir)
	Client string // the app client's name
	Users  []User
}

// Client is an AWS SDK Cognito client of this server.
func (s *Server) Client() *cip.Client {
	return cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// EnsurePool finds or creates the pool (custom attributes tier and teamId,
// sign-in by email) and its app client (USER_PASSWORD_AUTH, refresh; tokens
// valid one hour, as Cognito's defaults), and creates or updates the users with
// permanent passwords.
func (s *Server) EnsurePool(ctx context.Context, spec PoolSpec) (Pool, error) {
	c := s.Client()
	var p Pool
	pools, err := c.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	if err != nil {
		return p, fmt.Errorf("list user pools: %w", err)
	}
	for _, up := range pools.UserPools {
		if aws.ToString(up.Name) == spec.Name {
			p.ID = aws.ToString(up.Id)
		}
	}
	if p.ID == "" {
		out, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{
			PoolName:           aws.String(spec.Name),
			UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
			Schema: []types.SchemaAttributeType{
				{Name: aws.String("tier"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)},
				{Name: aws.String("teamId"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)},
			},
		})
		if err != nil {
			return p, fmt.Errorf("create user pool: %w", err)
		}
		p.ID = aws.ToString(out.UserPool.Id)
	}
	clients, err := c.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(p.ID), MaxResults: aws.Int32(60)})
	if err != nil {
		return p, fmt.Errorf("list app clients: %w", err)
	}
	for _, cl := range clients.UserPoolClients {
		if aws.ToString(cl.ClientName) == spec.Client {
			p.ClientID = aws.ToString(cl.ClientId)
		}
	}
	if p.ClientID == "" {
		out, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(p.ID),
			ClientName: aws.String(spec.Client),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{
				types.ExplicitAuthFlowsTypeAllowUserPasswordAuth,
				types.ExplicitAuthFlowsTypeAllowUserSrpAuth,
				types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth,
			},
			AccessTokenValidity: aws.Int32(1),
			IdTokenValidity:     aws.Int32(1),
			TokenValidityUnits: &types.TokenValidityUnitsType{
				AccessToken: types.TimeUnitsTypeHours, IdToken: types.TimeUnitsTypeHours, RefreshToken: types.TimeUnitsTypeDays,
			},
			ReadAttributes:  []string{"email", "email_verified", "custom:tier", "custom:teamId"},
			WriteAttributes: []string{"email"},
		})
		if err != nil {
			return p, fmt.Errorf("create app client: %w", err)
		}
		p.ClientID = aws.ToString(out.UserPoolClient.ClientId)
	}
	p.Issuer = s.Issuer(p.ID)
	for _, u := range spec.Users {
		if err := s.ensureUser(ctx, c, p.ID, u); err != nil {
			return p, fmt.Errorf("user %s: %w", u.Email, err)
		}
	}
	return p, nil
}

func (s *Server) ensureUser(ctx context.Context, c *cip.Client, poolID string, u User) error {
	attrs := []types.AttributeType{
		{Name: aws.String("email"), Value: aws.String(u.Email)},
		{Name: aws.String("email_verified"), Value: aws.String("true")},
	}
	if u.Tier != "" {
		attrs = append(attrs, types.AttributeType{Name: aws.String("custom:tier"), Value: aws.String(u.Tier)})
	}
	if u.TeamID != "" {
		attrs = append(attrs, types.AttributeType{Name: aws.String("custom:teamId"), Value: aws.String(u.TeamID)})
	}
	_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(poolID), Username: aws.String(u.Email),
		UserAttributes: attrs, MessageAction: types.MessageActionTypeSuppress,
	})
	var exists *types.UsernameExistsException
	switch {
	case errors.As(err, &exists):
		if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{
			UserPoolId: aws.String(poolID), Username: aws.String(u.Email), UserAttributes: attrs,
		}); err != nil {
			return fmt.Errorf("update attributes: %w", err)
		}
	case err != nil:
		return fmt.Errorf("create: %w", err)
	}
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(poolID), Username: aws.String(u.Email),
		Password: aws.String(u.Password), Permanent: true,
	}); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// SignIn signs a user in with USER_PASSWORD_AUTH (what cognito-local
// supports) and returns the access and ID tokens.
func (s *Server) SignIn(ctx context.Context, clientID, email, password string) (access, id string, err error) {
	out, err := s.Client().InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId:       aws.String(clientID),
		AuthFlow:       types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password},
	})
	if err != nil {
		return "", "", fmt.Errorf("sign in %s: %w", email, err)
	}
	if out.AuthenticationResult == nil {
		return "", "", fmt.Errorf("sign in %s: challenge %s instead of tokens", email, out.ChallengeName)
	}
	return aws.ToString(out.AuthenticationResult.AccessToken), aws.ToString(out.AuthenticationResult.IdToken), nil
}

// Sub is the sub (the user's id, the one keygate keys its owners by) of the
// user with that email.
func (s *Server) Sub(ctx context.Context, poolID, email string) (string, error) {
	out, err := s.Client().AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String(email)})
	if err != nil {
		return "", fmt.Errorf("user %s: %w", email, err)
	}
	for _, a := range out.UserAttributes {
		if aws.ToString(a.Name) == "sub" && aws.ToString(a.Value) != "" {
			return aws.ToString(a.Value), nil
		}
	}
	return "", fmt.Errorf("user %s has no sub attribute", email)
}
