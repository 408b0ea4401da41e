using Beacon.Contracts.EarlyWarning;
using Beacon.EarlyWarning.Grpc;
using Beacon.ServiceDefaults;
using Google.Protobuf;
using Grpc.Core;

namespace Beacon.EarlyWarning.Apis;

/// <summary>
/// Every REST route of the model registry (ops only): list, read, train, promote, roll back, re-score, district
/// thresholds and the nightly re-score's status. Each calls the gRPC EarlyWarning service; a body is that method's
/// request message as JSON (an empty body is the empty message), a {modelId} in the path wins over the body's.
/// </summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/early-warning/v1").RequireAuthorization(Policies.Ops).WithTags("Models");
        api.MapGet("/models", (string? kind, HttpContext http) =>
                GrpcRest.AnswerAsync<EarlyWarningGrpcService, ListModelsResponse>(http, (ew, call) => ew.ListModels(new ListModelsRequest { Kind = kind ?? "" }, call)))
            .WithName("ListModels").WithSummary("Registered model versions, optionally of one kind").Produces<ListModelsResponse>();
        api.MapGet("/models/{modelId}", (string modelId, HttpContext http) =>
                GrpcRest.AnswerAsync<EarlyWarningGrpcService, ModelVersion>(http, (ew, call) => ew.GetModel(new GetModelRequest { ModelId = modelId }, call)))
            .WithName("GetModel").WithSummary("One model version with its card").Produces<ModelVersion>();
        MapCommand<TrainModelRequest, ModelVersion>(api, "/models/train", (ew, r, call) => ew.TrainModel(r, call))
            .WithName("TrainModel").WithSummary("Train, evaluate on held-out data and register a new version (a candidate unless promote is set)");
        MapCommand<PromoteModelRequest, ModelVersion>(api, "/models/{modelId}/promote", (ew, r, call) => ew.PromoteModel(r, call), (r, id) => r.ModelId = id)
            .WithName("PromoteModel").WithSummary("Make a version the active one of its kind");
        MapCommand<RescoreStudentsRequest, RescoreStudentsResponse>(api, "/models/rescore", (ew, r, call) => ew.RescoreStudents(r, call))
            .WithName("RescoreStudents").WithSummary("Re-score every student with the active model (the nightly job runs the same code)");
        MapCommand<SetDistrictThresholdRequest, DistrictThreshold>(api, "/models/{modelId}/thresholds", (ew, r, call) => ew.SetDistrictThreshold(r, call), (r, id) => r.ModelId = id)
            .WithName("SetDistrictThreshold").WithSummary("Set a district's threshold to a target (flag the top share, or precision at least X)");
        MapCommand<RollbackModelRequest, ModelVersion>(api, "/models/rollback", (ew, r, call) => ew.RollbackModel(r, call))
            .WithName("RollbackModel").WithSummary("Re-activate the version that was active before the current one");
        Func<HttpContext, Task<IResult>> nightly = http =>
            GrpcRest.AnswerAsync<EarlyWarningGrpcService, NightlyRescoreStatus>(http, (ew, call) => ew.GetNightlyRescore(new GetNightlyRescoreRequest(), call));
        api.MapGet("/scoring/nightly", nightly)
            .WithName("GetNightlyRescore").WithSummary("What the nightly re-score did last and when it runs next").Produces<NightlyRescoreStatus>();
        return app;
    }

    /// <summary>A POST whose JSON body is the gRPC method's request; <paramref name="fromRoute"/> sets the {modelId} of the path.</summary>
    private static RouteHandlerBuilder MapCommand<TRequest, TResponse>(RouteGroupBuilder api, string pattern,
        Func<EarlyWarningGrpcService, TRequest, ServerCallContext, Task<TResponse>> call, Action<TRequest, string>? fromRoute = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : IMessage =>
        api.MapPost(pattern, async (HttpRequest request, CancellationToken ct) =>
            {
                var (body, problem) = await GrpcRest.ReadAsync<TRequest>(request, ct);
                if (body is null)
                {
                    return problem!;
                }
                if (fromRoute is not null && request.RouteValues["modelId"] is string modelId)
                {
                    fromRoute(body, modelId);
                }
                return await GrpcRest.AnswerAsync<EarlyWarningGrpcService, TResponse>(request.HttpContext, (ew, context) => call(ew, body, context));
            })
            .Accepts<TRequest>("application/json").Produces<TResponse>();
}
