// Package s3 keeps media blobs in an Amazon S3 bucket, or any server that speaks the S3
// API, through aws-sdk-go-v2: the storage of the cluster mode. It also presigns GET and
// PUT URLs so that clients move the bytes to and from the bucket directly.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/chatchat/chatchat/chat"
)

var (
	_ chat.BlobStore     = (*Store)(nil)
	_ chat.BlobPresigner = (*Store)(nil)
	_ chat.Pinger        = (*Store)(nil)
)

// Config configures New. Credentials come from the standard AWS chain (environment,
// shared files, ECS task role, instance role).
type Config struct {
	Bucket string
	// Prefix is put before every key, e.g. "media/".
	Prefix string
	// Region; empty takes the one of the AWS environment.
	Region string
	// Endpoint is the URL of an S3-compatible server; empty is AWS.
	Endpoint string
	// PathStyle addresses the bucket in the path (http://host/bucket/key) rather than in
	// the host name, as most S3-compatible servers need.
	PathStyle bool
	// HTTPClient, when set, carries the requests (tests).
	HTTPClient *http.Client
}

// Store is a chat.BlobStore in an S3 bucket. It is safe for concurrent use.
type Store struct {
	client  *awss3.Client
	presign *awss3.PresignClient
	bucket  string
	prefix  string
}

// New returns a Store for the bucket. It does not contact S3: Ping does.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		// The SDK refuses to sign without a region; S3-compatible servers ignore it.
		awsCfg.Region = "us-east-1"
	}
	client := awss3.NewFromConfig(awsCfg, func(o *awss3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Checksums only where S3 requires them: the default adds CRC32 headers (and,
		// to presigned PUTs, a checksum parameter the browser cannot send) that many
		// S3-compatible servers do not understand.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{
		client:  client,
		presign: awss3.NewPresignClient(client),
		bucket:  cfg.Bucket,
		prefix:  cfg.Prefix,
	}, nil
}

// key maps a checked blob key to the object key.
func (s *Store) key(key string) (string, error) {
	if err := chat.CheckBlobKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Put implements chat.BlobStore. S3 replaces objects atomically.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	in := &awss3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(k), Body: r,
		ContentLength: aws.Int64(size),
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	var optFns []func(*awss3.Options)
	if _, ok := r.(io.ReadSeeker); !ok {
		// The payload hash needs a body it can read twice; a plain stream goes
		// unsigned (its length is still signed).
		optFns = append(optFns, awss3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	}
	if _, err := s.client.PutObject(ctx, in, optFns...); err != nil {
		return fmt.Errorf("s3: put %s: %w", k, err)
	}
	return nil
}

// Open implements chat.BlobStore.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, chat.BlobInfo, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, chat.BlobInfo{}, err
	}
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err != nil {
		return nil, chat.BlobInfo{}, fmt.Errorf("s3: get %s: %w", k, notFound(err))
	}
	return out.Body, chat.BlobInfo{
		Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		ModTime: aws.ToTime(out.LastModified),
	}, nil
}

// Stat implements chat.BlobStore.
func (s *Store) Stat(ctx context.Context, key string) (chat.BlobInfo, error) {
	k, err := s.key(key)
	if err != nil {
		return chat.BlobInfo{}, err
	}
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err != nil {
		return chat.BlobInfo{}, fmt.Errorf("s3: head %s: %w", k, notFound(err))
	}
	return chat.BlobInfo{
		Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		ModTime: aws.ToTime(out.LastModified),
	}, nil
}

// Delete implements chat.BlobStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err != nil && !chat.IsNotFound(notFound(err)) {
		return fmt.Errorf("s3: delete %s: %w", k, err)
	}
	return nil
}

// PresignGet implements chat.BlobPresigner. The response headers are part of the
// signature, so the URL cannot be turned into one that serves the bytes inline.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration, o chat.GetOptions) (string, error) {
	k, err := s.key(key)
	if err != nil {
		return "", err
	}
	in := &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)}
	if o.ContentType != "" {
		in.ResponseContentType = aws.String(o.ContentType)
	}
	if o.ContentDisposition != "" {
		in.ResponseContentDisposition = aws.String(o.ContentDisposition)
	}
	req, err := s.presign.PresignGetObject(ctx, in, awss3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("s3: presign get %s: %w", k, err)
	}
	return req.URL, nil
}

// PresignPut implements chat.BlobPresigner. Content-Type and Content-Length are signed:
// S3 refuses a PUT of another type or size.
func (s *Store) PresignPut(ctx context.Context, key string, ttl time.Duration, contentType string, size int64) (string, map[string]string, error) {
	k, err := s.key(key)
	if err != nil {
		return "", nil, err
	}
	req, err := s.presign.PresignPutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(k),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(size),
	}, awss3.WithPresignExpires(ttl))
	if err != nil {
		return "", nil, fmt.Errorf("s3: presign put %s: %w", k, err)
	}
	headers := map[string]string{}
	for name, vs := range req.SignedHeader {
		// Host and Content-Length are set by every HTTP client itself.
		if len(vs) == 0 || strings.EqualFold(name, "Host") || strings.EqualFold(name, "Content-Length") {
			continue
		}
		headers[http.CanonicalHeaderKey(name)] = vs[0]
	}
	return req.URL, headers, nil
}

// Ping reports whether the bucket is reachable with the credentials at hand.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		return fmt.Errorf("s3: head bucket %s: %w", s.bucket, err)
	}
	return nil
}

// notFound turns S3's 404 answers into chat.ErrNotFound.
func notFound(err error) error {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		return chat.ErrNotFound
	}
	return err
}
