using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.ServiceDefaults;

/// <summary>
/// REST routes are minimal APIs (one <c>Apis/&lt;Resource&gt;Api.cs</c> per resource); where the answer is a gRPC
/// message the service also serves to other services, the route calls that gRPC method instead of a second copy
/// of its query. The answer is the message's protobuf JSON (lowerCamelCase names, default values written), the
/// shape JSON transcoding gave these routes before; a gRPC error status becomes a problem with the HTTP status
/// transcoding used for it.
/// </summary>
public static class GrpcRest
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>Calls <paramref name="call"/> on the service's gRPC implementation and answers its message as JSON.</summary>
    public static async Task<IResult> AnswerAsync<TService, TResponse>(HttpContext http, Func<TService, ServerCallContext, Task<TResponse>> call)
        where TService : class
        where TResponse : IMessage
    {
        var service = ActivatorUtilities.GetServiceOrCreateInstance<TService>(http.RequestServices);
        try
        {
            var response = await call(service, new RestCallContext(http));
            return Results.Text(Formatter.Format(response), "application/json", Encoding.UTF8);
        }
        catch (RpcException e)
        {
            return Results.Problem(statusCode: StatusOf(e.StatusCode), title: e.StatusCode.ToString(), detail: e.Status.Detail);
        }
    }

    /// <summary>
    /// A request message read from a JSON body (lowerCamelCase or proto field names, unknown fields ignored, an empty
    /// body is the empty message), or the 400 problem saying why it could not be read.
    /// </summary>
    public static async Task<(TRequest? Message, IResult? Problem)> ReadAsync<TRequest>(HttpRequest request, CancellationToken ct)
        where TRequest : IMessage<TRequest>, new()
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(ct);
        if (string.IsNullOrWhiteSpace(text))
        {
            return (new TRequest(), null);
        }
        try
        {
            return (Parser.Parse<TRequest>(text), null);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            return (default, Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The body is not a valid request", detail: e.Message));
        }
    }

    /// <summary>The HTTP status gRPC JSON transcoding answers for each status code (google/api/http.proto's mapping).</summary>
    public static int StatusOf(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => StatusCodes.Status499ClientClosedRequest,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>
    /// The call context a gRPC method sees when a REST route calls it: the request's user, cancellation and headers.
    /// <c>GetHttpContext()</c> finds the HttpContext under the key Grpc.AspNetCore documents for custom contexts.
    /// </summary>
    private sealed class RestCallContext : ServerCallContext
    {
        private readonly HttpContext _http;
        private readonly Metadata _headers = [];

        public RestCallContext(HttpContext http)
        {
            _http = http;
            UserState["__HttpContext"] = http;
            foreach (var (name, values) in http.Request.Headers)
            {
                if (!name.StartsWith(':') && !name.EndsWith("-bin", StringComparison.OrdinalIgnoreCase))
                {
                    _headers.Add(name.ToLowerInvariant(), values.ToString());
                }
            }
        }

        protected override string MethodCore => _http.Request.Path;
        protected override string HostCore => _http.Request.Host.Value ?? "";
        protected override string PeerCore => _http.Connection.RemoteIpAddress?.ToString() ?? "";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore => _headers;
        protected override CancellationToken CancellationTokenCore => _http.RequestAborted;
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException("A REST call has no gRPC call to propagate.");

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
