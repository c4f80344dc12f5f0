namespace LlmMiddleware.Upstream;

/// <summary>
/// A model name the gateway serves as another until a stage decides otherwise (an experiment's name, served by its
/// control arm until the call is assigned one): consulted before aliases, groups and <c>provider/model</c> names.
/// </summary>
internal interface IModelRedirect
{
    /// <summary>The model to resolve in place of <paramref name="requested"/>, or <see langword="null"/>.</summary>
    string? Redirect(string requested);
}
